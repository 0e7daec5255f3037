// Lists the CUDA devices this process sees and checks that the kernels this
// build carries (sm_90) run on each: the first thing to ask of a GPU node.
#ifndef VAR_RUNTIME_CUDA_DEVICEPROBE_H
#define VAR_RUNTIME_CUDA_DEVICEPROBE_H

#include <cstdint>
#include <string>
#include <vector>

namespace var::cuda {

struct DeviceReport {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  int multiprocessors = 0;
  uint64_t totalMemory = 0;
  bool kernelRan = false;  // our probe kernel launched and wrote its answer
  std::string kernelError; // why not, when it did not
};

struct ProbeResult {
  int driverVersion = 0, runtimeVersion = 0;
  std::string error; // set when no device list could be read at all
  std::vector<DeviceReport> devices;
};

ProbeResult probeDevices();

} // namespace var::cuda

#endif
