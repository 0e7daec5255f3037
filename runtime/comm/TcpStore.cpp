// The rendezvous store: a thread per client on rank 0 answering set, get and
// wait requests from one map. The ranks of a job are few and mostly idle
// after they connect (they stay connected so that the store notices when one
// dies), so simplicity wins over an event loop here.
//
// Wire format, both directions: a one-byte code, then a key and a value, each
// a little-endian uint32 length followed by the bytes. Requests: 'S' (set
// key to value), 'G' (get key), 'W' (wait for key; value is the longest wait
// in decimal milliseconds), 'D' (set key to value when this connection
// ends). Replies: 'Y' (done, or the value) or 'N' (no such
// key, or the wait timed out) with an empty key.
#include "runtime/comm/TcpStore.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace var::comm {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Keys and values are addresses and small records; anything larger is a
/// stray client, not a rank.
constexpr uint32_t kMaxFieldBytes = 16u << 20;

std::string errnoText(const char *what) {
  return std::string(what) + ": " + std::strerror(errno);
}

int remainingMs(std::optional<Clock::time_point> deadline) {
  if (!deadline)
    return -1;
  auto left =
      std::chrono::duration_cast<milliseconds>(*deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

/// Waits for `events` on `fd` until `deadline` (forever without one).
std::string pollFd(int fd, short events,
                   std::optional<Clock::time_point> deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc > 0)
      return "";
    if (rc == 0)
      return "timed out";
    if (errno != EINTR)
      return errnoText("poll");
  }
}

std::string sendAll(int fd, const char *data, size_t size,
                    std::optional<Clock::time_point> deadline) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (std::string err = pollFd(fd, POLLOUT, deadline); !err.empty())
        return "send " + err;
      continue;
    }
    return errnoText("send");
  }
  return "";
}

std::string recvAll(int fd, char *data, size_t size,
                    std::optional<Clock::time_point> deadline) {
  while (size > 0) {
    ssize_t n = ::recv(fd, data, size, MSG_DONTWAIT);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0)
      return "connection closed by the other side";
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (std::string err = pollFd(fd, POLLIN, deadline); !err.empty())
        return "receive " + err;
      continue;
    }
    return errnoText("recv");
  }
  return "";
}

void appendField(std::string &out, const std::string &field) {
  uint32_t size = static_cast<uint32_t>(field.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  out += field;
}

std::string recvField(int fd, std::string &field,
                      std::optional<Clock::time_point> deadline) {
  unsigned char header[4];
  if (std::string err =
          recvAll(fd, reinterpret_cast<char *>(header), 4, deadline);
      !err.empty())
    return err;
  uint32_t size = 0;
  for (int i = 0; i < 4; ++i)
    size |= static_cast<uint32_t>(header[i]) << (8 * i);
  if (size > kMaxFieldBytes)
    return "message field of " + std::to_string(size) + " bytes is too large";
  field.resize(size);
  return recvAll(fd, field.data(), size, deadline);
}

std::string sendMessage(int fd, char code, const std::string &key,
                        const std::string &value,
                        std::optional<Clock::time_point> deadline) {
  std::string message(1, code);
  appendField(message, key);
  appendField(message, value);
  return sendAll(fd, message.data(), message.size(), deadline);
}

std::string recvMessage(int fd, char &code, std::string &key,
                        std::string &value,
                        std::optional<Clock::time_point> deadline) {
  if (std::string err = recvAll(fd, &code, 1, deadline); !err.empty())
    return err;
  if (std::string err = recvField(fd, key, deadline); !err.empty())
    return err;
  return recvField(fd, value, deadline);
}

std::string numericAddress(const sockaddr_storage &address, socklen_t size) {
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr *>(&address), size, host,
                  sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0)
    return "";
  return host;
}

/// One non-blocking connect attempt to every address `host` resolves to.
int tryConnect(const std::string &host, int port, Clock::time_point deadline,
               std::string &lastError) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *addresses = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses);
      rc != 0) {
    lastError = std::string("cannot resolve host: ") + gai_strerror(rc);
    return -1;
  }
  int connected = -1;
  for (addrinfo *ai = addresses; ai && connected < 0; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 ai->ai_protocol);
    if (fd < 0) {
      lastError = errnoText("socket");
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      rc = -1;
      if (pollFd(fd, POLLOUT, deadline).empty()) {
        int soError = 0;
        socklen_t len = sizeof(soError);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len);
        errno = soError;
        rc = soError == 0 ? 0 : -1;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      connected = fd;
    } else {
      lastError = errnoText("connect");
      ::close(fd);
    }
  }
  freeaddrinfo(addresses);
  return connected;
}

} // namespace

/// Serves one map to every client until destroyed.
class TcpStoreServer {
public:
  static std::unique_ptr<TcpStoreServer> start(int port, std::string &error);
  ~TcpStoreServer();

private:
  TcpStoreServer() = default;
  void acceptLoop();
  void serveClient(int fd);

  int listenFd = -1;
  int wakePipe[2] = {-1, -1};
  std::thread acceptThread;

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::string> values;
  bool stopping = false;
  std::vector<int> clientFds;
  std::vector<std::thread> clientThreads;
};

std::unique_ptr<TcpStoreServer> TcpStoreServer::start(int port,
                                                      std::string &error) {
  std::unique_ptr<TcpStoreServer> server(new TcpStoreServer());
  server->listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listenFd < 0) {
    error = errnoText("socket");
    return nullptr;
  }
  int on = 1;
  setsockopt(server->listenFd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(server->listenFd, reinterpret_cast<sockaddr *>(&address),
             sizeof(address)) != 0 ||
      ::listen(server->listenFd, SOMAXCONN) != 0) {
    error = "cannot listen on port " + std::to_string(port) + ": " +
            std::strerror(errno);
    return nullptr;
  }
  if (::pipe2(server->wakePipe, O_CLOEXEC) != 0) {
    error = errnoText("pipe");
    return nullptr;
  }
  server->acceptThread = std::thread([s = server.get()] { s->acceptLoop(); });
  return server;
}

TcpStoreServer::~TcpStoreServer() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  if (acceptThread.joinable()) {
    char byte = 0;
    while (::write(wakePipe[1], &byte, 1) < 0 && errno == EINTR) {
    }
    acceptThread.join();
  }
  // No thread adds clients any more; unblock the ones reading.
  for (int fd : clientFds)
    ::shutdown(fd, SHUT_RDWR);
  for (std::thread &thread : clientThreads)
    thread.join();
  for (int fd : clientFds)
    ::close(fd);
  for (int fd : {listenFd, wakePipe[0], wakePipe[1]})
    if (fd >= 0)
      ::close(fd);
}

void TcpStoreServer::acceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listenFd, POLLIN, 0}, {wakePipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[1].revents)
      return;
    int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    std::lock_guard<std::mutex> lock(mutex);
    clientFds.push_back(fd);
    clientThreads.emplace_back([this, fd] { serveClient(fd); });
  }
}

void TcpStoreServer::serveClient(int fd) {
  // What to set when this client goes away (its process died, most likely).
  std::vector<std::pair<std::string, std::string>> onDisconnect;
  char code;
  std::string key, value;
  while (recvMessage(fd, code, key, value, std::nullopt).empty()) {
    char status = 'Y';
    std::string reply;
    {
      std::unique_lock<std::mutex> lock(mutex);
      if (code == 'S') {
        values[key] = value;
        changed.notify_all();
      } else if (code == 'G') {
        auto it = values.find(key);
        if (it == values.end())
          status = 'N';
        else
          reply = it->second;
      } else if (code == 'W') {
        long long waitMs = std::atoll(value.c_str());
        bool found = changed.wait_for(lock, milliseconds(waitMs), [&] {
          return stopping || values.count(key) != 0;
        });
        status = found && values.count(key) ? 'Y' : 'N';
      } else if (code == 'D') {
        onDisconnect.emplace_back(key, value);
      } else {
        break; // Not one of our clients.
      }
      if (stopping)
        return;
    }
    if (!sendMessage(fd, status, "", reply, std::nullopt).empty())
      break;
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (stopping)
    return;
  for (const auto &[goneKey, goneValue] : onDisconnect)
    values[goneKey] = goneValue;
  changed.notify_all();
}

std::unique_ptr<TcpStore> TcpStore::connect(const std::string &host, int port,
                                            bool serve, milliseconds timeout,
                                            std::string &error) {
  std::unique_ptr<TcpStore> store(new TcpStore());
  store->endpoint = host + ":" + std::to_string(port);
  store->timeout = timeout;
  if (serve) {
    std::string serverError;
    store->server = TcpStoreServer::start(port, serverError);
    if (!store->server) {
      error = "rendezvous store on " + store->endpoint + ": " + serverError;
      return nullptr;
    }
  }

  // Rank 0 may not listen yet: retry until the deadline.
  Clock::time_point deadline = Clock::now() + timeout;
  std::string lastError = "timed out";
  for (;;) {
    store->fd = tryConnect(host, port, deadline, lastError);
    if (store->fd >= 0 || Clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(
        std::min(milliseconds(50), milliseconds(remainingMs(deadline))));
  }
  if (store->fd < 0) {
    error = "cannot reach the rendezvous store (rank 0) at " + store->endpoint +
            " within " + std::to_string(timeout.count()) + " ms: " + lastError;
    return nullptr;
  }
  int on = 1;
  setsockopt(store->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  if (getsockname(store->fd, reinterpret_cast<sockaddr *>(&address), &size) ==
      0)
    store->localAddress = numericAddress(address, size);
  size = sizeof(address);
  if (getpeername(store->fd, reinterpret_cast<sockaddr *>(&address), &size) ==
      0)
    store->serverAddress = numericAddress(address, size);
  return store;
}

TcpStore::~TcpStore() {
  if (fd >= 0)
    ::close(fd);
}

std::string TcpStore::request(char code, const std::string &key,
                              const std::string &value,
                              milliseconds replyTimeout, char &status,
                              std::string &reply) {
  if (fd < 0)
    return "rendezvous store at " + endpoint +
           ": connection dropped after an earlier failure";
  Clock::time_point deadline = Clock::now() + replyTimeout;
  std::string err = sendMessage(fd, code, key, value, deadline);
  std::string replyKey;
  if (err.empty())
    err = recvMessage(fd, status, replyKey, reply, deadline);
  if (err.empty())
    return "";
  // A late reply would answer the next request: drop the connection.
  ::close(fd);
  fd = -1;
  return "rendezvous store at " + endpoint + ": " + err;
}

std::string TcpStore::set(const std::string &key, const std::string &value) {
  char status;
  std::string reply;
  return request('S', key, value, timeout, status, reply);
}

std::string TcpStore::setOnDisconnect(const std::string &key,
                                      const std::string &value) {
  char status;
  std::string reply;
  return request('D', key, value, timeout, status, reply);
}

std::string TcpStore::get(const std::string &key, std::string &value,
                          milliseconds waitTimeout) {
  if (std::string err = wait({key}, waitTimeout); !err.empty())
    return err;
  char status;
  if (std::string err = request('G', key, "", timeout, status, value);
      !err.empty())
    return err;
  if (status != 'Y')
    return "rendezvous store at " + endpoint + ": key '" + key + "' vanished";
  return "";
}

std::string TcpStore::wait(const std::vector<std::string> &keys,
                           milliseconds waitTimeout,
                           std::vector<std::string> *missing) {
  Clock::time_point deadline = Clock::now() + waitTimeout;
  std::vector<std::string> absent;
  for (const std::string &key : keys) {
    // Once one key timed out, only ask whether the others are there.
    milliseconds left(absent.empty() ? remainingMs(deadline) : 0);
    char status;
    std::string reply;
    // The server answers when the wait ends; allow it a second to do so.
    if (std::string err =
            request('W', key, std::to_string(left.count()),
                    left + std::chrono::seconds(1), status, reply);
        !err.empty())
      return err;
    if (status != 'Y')
      absent.push_back(key);
  }
  if (missing)
    *missing = absent;
  if (absent.empty())
    return "";
  std::string message = "timed out after " +
                        std::to_string(waitTimeout.count()) +
                        " ms waiting for rendezvous keys";
  for (size_t i = 0; i < absent.size(); ++i)
    message += (i ? ", '" : " '") + absent[i] + "'";
  return message + " at " + endpoint;
}

} // namespace var::comm
