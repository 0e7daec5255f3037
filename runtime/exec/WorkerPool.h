// Threads kept for the host's data-parallel loops (the offloaded
// optimizer's update, once per bucket a step): starting a thread costs tens
// of microseconds, and a step of an offloaded job runs several updates,
// each over every core. The pool starts on first use in each process (a
// process forked after that, which has none of the threads, starts its
// own) and runs one loop at a time; a second caller meanwhile starts
// threads of its own, as every call did before.
#ifndef VAR_RUNTIME_EXEC_WORKERPOOL_H
#define VAR_RUNTIME_EXEC_WORKERPOOL_H

#include <cstdint>
#include <functional>

namespace var::exec {

/// Runs work(t, threads) for every t in [0, threads) on `threads` threads
/// at once (t = 0 on the caller) and returns when all have returned.
/// `threads` is at most the machine's hardware threads (fewer are used if
/// asked).
void runOnThreads(int64_t threads,
                  const std::function<void(int64_t, int64_t)> &work);

/// The machine's hardware threads, at least 1.
int64_t hardwareThreads();

/// memcpy of `bytes` split over threads in 4 MiB pieces (a clip batch of
/// tens of MB into page-locked staging runs at one core's bandwidth
/// otherwise); small copies stay on the caller.
void copyOnThreads(void *dst, const void *src, size_t bytes);

} // namespace var::exec

#endif
