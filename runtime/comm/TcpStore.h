// A key-value store over TCP for the rendezvous of a job's ranks: rank 0
// serves it, every rank (rank 0 included) talks to it as a client. It only
// carries the few bytes of addresses the ranks exchange before they connect;
// collectives never pass through it.
#ifndef VAR_RUNTIME_COMM_TCPSTORE_H
#define VAR_RUNTIME_COMM_TCPSTORE_H

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace var::comm {

class TcpStoreServer;

/// Every call returns an empty string on success, else a message that says
/// what failed. Not thread-safe: one call at a time.
class TcpStore {
public:
  /// Connects to the store at `host`:`port`, retrying until `timeout` while
  /// nobody listens there yet. With `serve`, first starts the server on
  /// `port` of every IPv4 interface of this host (rank 0 does). Null and
  /// `error` set on failure.
  static std::unique_ptr<TcpStore> connect(const std::string &host, int port,
                                           bool serve,
                                           std::chrono::milliseconds timeout,
                                           std::string &error);
  ~TcpStore();

  std::string set(const std::string &key, const std::string &value);
  /// Has the server set `key` to `value` once this client's connection
  /// ends: how the others learn that this process died.
  std::string setOnDisconnect(const std::string &key, const std::string &value);
  /// Waits up to `timeout` for `key`, then reads its value.
  std::string get(const std::string &key, std::string &value,
                  std::chrono::milliseconds timeout);
  /// Waits up to `timeout` (in all) until every key of `keys` is set; on
  /// timeout `missing` lists the keys that were not.
  std::string wait(const std::vector<std::string> &keys,
                   std::chrono::milliseconds timeout,
                   std::vector<std::string> *missing = nullptr);

  /// The two ends of this client's connection, numeric ("10.1.2.3"): the
  /// address of this host on the route to the server, and the server's.
  const std::string &getLocalAddress() const { return localAddress; }
  const std::string &getServerAddress() const { return serverAddress; }
  /// "host:port" for messages.
  const std::string &getEndpoint() const { return endpoint; }

private:
  TcpStore() = default;
  std::string request(char op, const std::string &key, const std::string &value,
                      std::chrono::milliseconds replyTimeout, char &status,
                      std::string &reply);

  std::unique_ptr<TcpStoreServer> server;
  int fd = -1;
  /// Bounds every request that does not wait for a key.
  std::chrono::milliseconds timeout{0};
  std::string localAddress;
  std::string serverAddress;
  std::string endpoint;
};

} // namespace var::comm

#endif
