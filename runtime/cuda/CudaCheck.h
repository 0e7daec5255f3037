// Checks of every CUDA runtime, cuDNN and cuBLAS call where it happens: on
// failure the enclosing function returns a message with the call, its
// status, file and line. The executor prefixes the instruction (op and
// source location) the call served.
#ifndef VAR_RUNTIME_CUDA_CUDACHECK_H
#define VAR_RUNTIME_CUDA_CUDACHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

namespace var::cuda {

std::string describeFailure(const char *call, const std::string &status,
                            const char *file, int line);
std::string statusText(cudaError_t status);
std::string statusText(cudnnStatus_t status);
std::string statusText(cublasStatus_t status);
inline bool succeeded(cudaError_t status) { return status == cudaSuccess; }
inline bool succeeded(cudnnStatus_t status) {
  return status == CUDNN_STATUS_SUCCESS;
}
inline bool succeeded(cublasStatus_t status) {
  return status == CUBLAS_STATUS_SUCCESS;
}
/// A failed runtime call also leaves its status as the runtime's last
/// error; reading it here reports the failure once, by the call that made
/// it, rather than again at the next kernel launch. (A kernel fault is
/// sticky and stays.) cuDNN and cuBLAS keep no such state.
inline void consumeLastError(cudaError_t) { (void)cudaGetLastError(); }
inline void consumeLastError(cudnnStatus_t) {}
inline void consumeLastError(cublasStatus_t) {}

} // namespace var::cuda

/// Returns the failure of `call` (a cudaError_t, cudnnStatus_t or
/// cublasStatus_t expression) from the enclosing std::string function.
#define VAR_CUDA_TRY(call)                                                     \
  do {                                                                         \
    auto varStatus = (call);                                                   \
    if (!::var::cuda::succeeded(varStatus)) {                                  \
      ::var::cuda::consumeLastError(varStatus);                                \
      return ::var::cuda::describeFailure(                                     \
          #call, ::var::cuda::statusText(varStatus), __FILE__, __LINE__);      \
    }                                                                          \
  } while (0)

/// After a kernel launch: a bad configuration or an earlier fault.
#define VAR_CUDA_LAUNCHED() VAR_CUDA_TRY(cudaGetLastError())

#endif
