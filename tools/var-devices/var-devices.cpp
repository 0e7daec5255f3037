// var-devices: which GPUs this node has, and whether this build's kernels
// run on them. Exit 0: every device ran the probe; 3: no usable device.
#include "runtime/cuda/DeviceProbe.h"

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  if (argc > 1) {
    bool help = !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h");
    std::fprintf(help ? stdout : stderr,
                 "usage: var-devices\n"
                 "Lists the CUDA devices visible to this process and runs a "
                 "probe kernel\n(built for sm_90) on each.\n"
                 "Exit status: 0 all devices ran the probe, 3 no device or a "
                 "device failed,\n2 bad usage.\n");
    return help ? 0 : 2;
  }
  var::cuda::ProbeResult probe = var::cuda::probeDevices();
  std::printf("CUDA driver %d, runtime %d\n", probe.driverVersion,
              probe.runtimeVersion);
  std::fflush(stdout); // keep the report in order when both go to one file
  if (!probe.error.empty() || probe.devices.empty()) {
    std::fprintf(stderr, "var-devices: no usable CUDA device (%s)\n",
                 probe.error.empty() ? "none visible" : probe.error.c_str());
    return 3;
  }
  bool allRan = true;
  for (const var::cuda::DeviceReport &d : probe.devices) {
    std::printf("device %d: %s, sm_%d%d, %d SMs, %.1f GiB, probe kernel %s\n",
                d.index, d.name.c_str(), d.major, d.minor, d.multiprocessors,
                d.totalMemory / double(1ull << 30),
                d.kernelRan ? "ok" : d.kernelError.c_str());
    allRan = allRan && d.kernelRan;
  }
  return allRan ? 0 : 3;
}
