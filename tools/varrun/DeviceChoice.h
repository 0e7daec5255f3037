// varrun's --device: which backend this rank runs its var ops on.
#ifndef VAR_TOOLS_VARRUN_DEVICECHOICE_H
#define VAR_TOOLS_VARRUN_DEVICECHOICE_H

#include "runtime/exec/Backend.h"

#include <memory>
#include <string>

namespace var::tools {

/// "cpu": the CPU backend. "cuda": the GPU of this local rank (local rank
/// modulo the GPUs this process sees); an error without one. "auto": CUDA
/// when this process sees a GPU, else the CPU. `description` says what was
/// chosen ("CPU", "CUDA (GPU 1 of 8)").
std::unique_ptr<exec::Backend> chooseBackend(const std::string &device,
                                             int localRank,
                                             std::string &description,
                                             std::string &error);

} // namespace var::tools

#endif
