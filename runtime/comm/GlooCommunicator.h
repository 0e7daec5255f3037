// The CPU communicator: Gloo's collectives over its TCP transport between
// the processes of a job, after a rendezvous through rank 0's TcpStore.
#ifndef VAR_RUNTIME_COMM_GLOOCOMMUNICATOR_H
#define VAR_RUNTIME_COMM_GLOOCOMMUNICATOR_H

#include "runtime/comm/Communicator.h"

#include <chrono>
#include <memory>
#include <string>

namespace var::comm {

/// Joins the job described by `info`: rank 0 serves the rendezvous store
/// (TcpStore) on info.masterPort, every rank meets there and then connects
/// to every other rank over TCP. Reaching the store, waiting for the other
/// ranks and connecting to them each give up after `timeout`, naming the
/// ranks that did not join; so does every collective. One rank needs no
/// store and binds no port.
///
/// A failed collective closes this rank's connections (its peers fail at
/// once instead of at their timeout) and its message adds the ranks whose
/// processes had exited by then: every rank stays connected to the store,
/// which marks a rank gone when that connection ends. After a failure rank
/// 0 keeps serving the store for up to min(timeout, 2 s) when destroyed,
/// until the other ranks have gone, so that they can still ask it.
///
/// Gloo binds to the address of the interface on the route to the master
/// (a rank that reaches it over loopback takes the address other hosts
/// reach the master by), or to `networkInterface` ("eth0") when given.
///
/// Ignores SIGPIPE process-wide if it has its default action: Gloo writes to
/// sockets without MSG_NOSIGNAL, and a peer that dies must be an error, not
/// the end of this process. The communicator is not thread-safe. Null and
/// `error` set on failure.
std::unique_ptr<Communicator>
createGlooCommunicator(const RankInfo &info, std::chrono::milliseconds timeout,
                       std::string &error,
                       const std::string &networkInterface = "");

} // namespace var::comm

#endif
