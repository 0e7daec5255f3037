// varrun's own launcher for one host (`--nproc-per-node N` without Slurm):
// starts the ranks, watches them, and takes them all down when one fails.
#ifndef VAR_RUNTIME_COMM_LAUNCHER_H
#define VAR_RUNTIME_COMM_LAUNCHER_H

#include <chrono>
#include <string>
#include <vector>

namespace var::comm {

/// Runs `nproc` copies of `argv` (argv[0] looked up in PATH) as ranks
/// 0..nproc-1 of one job, each with VARRUN_RANK=i, VARRUN_LOCAL_RANK=i,
/// VARRUN_WORLD_SIZE=nproc, VARRUN_MASTER_ADDR=127.0.0.1 and
/// VARRUN_MASTER_PORT set to the first free port from `basePort` (0: one the
/// kernel picks), and waits for them.
///
/// SIGINT and SIGTERM sent to this process go to every rank. When a rank
/// exits non-zero or dies by a signal, prints "varrun: rank R exited with
/// code C" (or "was killed by signal S") to stderr and sends SIGTERM to the
/// others, then SIGKILL to those still alive after `grace`. The ranks and
/// whatever they start share a process group, which is what gets signalled,
/// and each rank dies with SIGKILL if this process dies first.
///
/// Returns 0 when every rank exits 0; else the failed rank's exit code,
/// 128 + the signal that killed it or that this process received, or 2 when
/// the ranks could not be started. Call it from the main thread before any
/// other thread exists: it blocks SIGCHLD, SIGINT and SIGTERM while it runs,
/// and the ranks' death signal follows the thread that forked them.
int launchLocalRanks(int nproc, const std::vector<std::string> &argv,
                     int basePort, std::chrono::milliseconds grace);

} // namespace var::comm

#endif
