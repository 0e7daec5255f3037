// Messages of failed CUDA, cuDNN and cuBLAS calls.
#include "runtime/cuda/CudaCheck.h"

namespace var::cuda {

std::string describeFailure(const char *call, const std::string &status,
                            const char *file, int line) {
  std::string where = file;
  size_t slash = where.rfind("runtime/");
  if (slash != std::string::npos)
    where = where.substr(slash);
  return std::string(call) + " failed: " + status + " (" + where + ":" +
         std::to_string(line) + ")";
}

std::string statusText(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + ", " +
         cudaGetErrorString(status);
}

std::string statusText(cudnnStatus_t status) {
  return cudnnGetErrorString(status);
}

std::string statusText(cublasStatus_t status) {
  return std::string(cublasGetStatusName(status)) + ", " +
         cublasGetStatusString(status);
}

} // namespace var::cuda
