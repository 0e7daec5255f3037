// varrun's --device choice; the CUDA half only in builds with CUDA.
#include "tools/varrun/DeviceChoice.h"

#ifdef VAR_HAVE_CUDA
#include "runtime/cuda/CudaBackend.h"
#endif

namespace var::tools {

std::unique_ptr<exec::Backend> chooseBackend(const std::string &device,
                                             int localRank,
                                             std::string &description,
                                             std::string &error) {
#ifdef VAR_HAVE_CUDA
  int gpus = cuda::countDevices();
  if (device == "cuda" || (device == "auto" && gpus > 0)) {
    if (gpus == 0) {
      error = "--device=cuda: no CUDA device is visible to this process";
      return nullptr;
    }
    int gpu = localRank % gpus;
    std::unique_ptr<exec::Backend> backend =
        cuda::createCudaBackend(gpu, error);
    if (!backend) {
      error =
          "--device=" + device + ": GPU " + std::to_string(gpu) + ": " + error;
      return nullptr;
    }
    description = "CUDA (GPU " + std::to_string(gpu) + " of " +
                  std::to_string(gpus) + ")";
    return backend;
  }
#else
  (void)localRank;
  if (device == "cuda") {
    error = "--device=cuda: this varrun was built without CUDA (no nvcc "
            "when it was configured)";
    return nullptr;
  }
#endif
  description = "CPU";
  return exec::createCpuBackend();
}

} // namespace var::tools
