// Device listing and a one-kernel smoke test per device.
#include "runtime/cuda/DeviceProbe.h"

#include <cuda_runtime.h>

namespace var::cuda {

// One block of 32 threads; thread i writes i * i, so a wrong or missing
// kernel image shows up as a launch error or a wrong sum.
__global__ void probeKernel(int *out) {
  out[threadIdx.x] = threadIdx.x * threadIdx.x;
}

static std::string runProbeKernel() {
  constexpr int kThreads = 32;
  int *device = nullptr;
  cudaError_t err = cudaMalloc(&device, kThreads * sizeof(int));
  if (err != cudaSuccess)
    return std::string("cudaMalloc: ") + cudaGetErrorString(err);
  probeKernel<<<1, kThreads>>>(device);
  err = cudaGetLastError();
  int host[kThreads] = {};
  if (err == cudaSuccess)
    err = cudaMemcpy(host, device, sizeof(host), cudaMemcpyDeviceToHost);
  cudaFree(device);
  if (err != cudaSuccess)
    return std::string("probe kernel: ") + cudaGetErrorString(err);
  for (int i = 0; i < kThreads; ++i)
    if (host[i] != i * i)
      return "probe kernel wrote wrong values";
  return "";
}

ProbeResult probeDevices() {
  ProbeResult result;
  cudaDriverGetVersion(&result.driverVersion);
  cudaRuntimeGetVersion(&result.runtimeVersion);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    result.error =
        std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
    return result;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    DeviceReport report;
    report.index = i;
    err = cudaGetDeviceProperties(&prop, i);
    if (err != cudaSuccess) {
      report.kernelError =
          std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(err);
    } else {
      report.name = prop.name;
      report.major = prop.major;
      report.minor = prop.minor;
      report.multiprocessors = prop.multiProcessorCount;
      report.totalMemory = prop.totalGlobalMem;
      err = cudaSetDevice(i);
      report.kernelError = err == cudaSuccess ? runProbeKernel()
                                              : std::string("cudaSetDevice: ") +
                                                    cudaGetErrorString(err);
      report.kernelRan = report.kernelError.empty();
    }
    result.devices.push_back(report);
  }
  return result;
}

} // namespace var::cuda
