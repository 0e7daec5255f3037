// The CUDA backend of the executor: one device, a CUDA stream for each of
// the plan's device streams (compute, comm, copy) with the cuDNN and cuBLAS
// handles bound to the selected one, device memory through cudaMalloc, the
// kernels of CudaOps.h and DistKernels.h, and NCCL for collectives. An op
// without a CUDA kernel would run on the CPU through the executor's host
// path; today every op has one.
#ifndef VAR_RUNTIME_CUDA_CUDABACKEND_H
#define VAR_RUNTIME_CUDA_CUDABACKEND_H

#include "runtime/exec/Backend.h"

#include <memory>
#include <string>

namespace var::cuda {

/// The number of CUDA devices this process sees; 0 without a driver or
/// device (never an error).
int countDevices();

/// A backend on device `device`, or null with `error` saying why (no
/// device, a failed library initialization).
std::unique_ptr<exec::Backend> createCudaBackend(int device,
                                                 std::string &error);

} // namespace var::cuda

#endif
