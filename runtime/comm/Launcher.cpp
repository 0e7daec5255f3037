// The launcher's loop: fork/exec every rank into one process group, then
// wait for signals (SIGCHLD, and SIGINT/SIGTERM to forward) with
// sigtimedwait, reaping our own children only, until none is left.
#include "runtime/comm/Launcher.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace var::comm {

namespace {

using Clock = std::chrono::steady_clock;

/// The first port from `basePort` that this host can listen on (the
/// rendezvous store binds every interface); with 0, one the kernel picks.
/// -1 when there is none.
int findFreePort(int basePort) {
  for (int port = basePort; port <= 65535; ++port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t size = sizeof(address);
    int found = -1;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&address), size) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0)
      found = ntohs(address.sin_port);
    ::close(fd);
    if (found > 0 || basePort == 0)
      return found;
  }
  return -1;
}

/// This process's environment with the VARRUN_* variables of rank `rank`.
std::vector<std::string> rankEnvironment(int rank, int nproc, int port) {
  std::vector<std::pair<std::string, std::string>> ours = {
      {"VARRUN_RANK", std::to_string(rank)},
      {"VARRUN_LOCAL_RANK", std::to_string(rank)},
      {"VARRUN_WORLD_SIZE", std::to_string(nproc)},
      {"VARRUN_MASTER_ADDR", "127.0.0.1"},
      {"VARRUN_MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> env;
  for (char **entry = environ; entry && *entry; ++entry) {
    bool replaced = false;
    for (const auto &[name, value] : ours)
      replaced = replaced || std::strncmp(*entry, (name + "=").c_str(),
                                          name.size() + 1) == 0;
    if (!replaced)
      env.push_back(*entry);
  }
  for (const auto &[name, value] : ours)
    env.push_back(name + "=" + value);
  return env;
}

std::vector<char *> pointers(std::vector<std::string> &strings) {
  std::vector<char *> result;
  for (std::string &s : strings)
    result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

/// In the child: only async-signal-safe calls until exec.
[[noreturn]] void execRank(pid_t group, pid_t parent, const sigset_t &oldMask,
                           char **args, char **envp) {
  setpgid(0, group);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) // The launcher died before prctl.
    _exit(1);
  sigprocmask(SIG_SETMASK, &oldMask, nullptr);
  execvpe(args[0], args, envp);
  // One write, so that ranks failing together do not interleave.
  char message[512];
  size_t size = 0;
  const char *reason = strerrordesc_np(errno);
  for (const char *text :
       {"varrun: cannot execute ", static_cast<const char *>(args[0]), ": ",
        reason ? reason : "error", "\n"})
    for (; *text && size < sizeof(message) - 1; ++text)
      message[size++] = *text;
  message[size - 1] = '\n';
  if (::write(STDERR_FILENO, message, size) < 0)
    _exit(127);
  _exit(127);
}

} // namespace

int launchLocalRanks(int nproc, const std::vector<std::string> &argv,
                     int basePort, std::chrono::milliseconds grace) {
  if (nproc < 1 || argv.empty() || basePort < 0 || basePort > 65535) {
    std::fprintf(stderr, "varrun: launcher needs at least one rank, a "
                         "command and a port in [0, 65535]\n");
    return 2;
  }
  int port = findFreePort(basePort);
  if (port <= 0) {
    std::fprintf(stderr, "varrun: no free port from %d for the rendezvous\n",
                 basePort);
    return 2;
  }

  // Everything the children need, built before fork.
  std::vector<std::string> argStrings(argv);
  std::vector<char *> args = pointers(argStrings);
  std::vector<std::vector<std::string>> envStrings;
  std::vector<std::vector<char *>> envs;
  for (int rank = 0; rank < nproc; ++rank)
    envStrings.push_back(rankEnvironment(rank, nproc, port));
  for (auto &strings : envStrings)
    envs.push_back(pointers(strings));

  sigset_t handled, oldMask;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM})
    sigaddset(&handled, sig);
  sigprocmask(SIG_BLOCK, &handled, &oldMask);

  pid_t parent = getpid();
  pid_t group = 0;
  std::vector<pid_t> pids;
  std::vector<bool> running;
  int result = 0;
  bool stopping = false;
  Clock::time_point killAt = Clock::time_point::max();
  // The group reaches what the ranks started; the pids, a rank that left it.
  auto signalRanks = [&](int sig) {
    if (group > 0)
      killpg(group, sig);
    for (size_t rank = 0; rank < pids.size(); ++rank)
      if (running[rank])
        kill(pids[rank], sig);
  };
  auto stopAll = [&](int sig) {
    stopping = true;
    signalRanks(sig);
    killAt = Clock::now() + grace;
  };

  for (int rank = 0; rank < nproc; ++rank) {
    pid_t pid = fork();
    if (pid == 0)
      execRank(group, parent, oldMask, args.data(), envs[rank].data());
    if (pid < 0) {
      std::fprintf(stderr, "varrun: cannot start rank %d: %s\n", rank,
                   std::strerror(errno));
      result = 2;
      stopAll(SIGKILL);
      break;
    }
    if (group == 0)
      group = pid;
    setpgid(pid, group); // The child does too; whoever comes first wins.
    pids.push_back(pid);
    running.push_back(true);
  }

  size_t alive = pids.size();
  while (alive > 0) {
    for (size_t rank = 0; rank < pids.size(); ++rank) {
      int status = 0;
      if (!running[rank] || waitpid(pids[rank], &status, WNOHANG) != pids[rank])
        continue;
      running[rank] = false;
      --alive;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        continue;
      if (stopping)
        continue; // We asked it to stop.
      if (WIFEXITED(status)) {
        std::fprintf(stderr, "varrun: rank %zu exited with code %d\n", rank,
                     WEXITSTATUS(status));
        result = WEXITSTATUS(status);
      } else {
        std::fprintf(stderr, "varrun: rank %zu was killed by signal %d (%s)\n",
                     rank, WTERMSIG(status), strsignal(WTERMSIG(status)));
        result = 128 + WTERMSIG(status);
      }
      if (alive > 0)
        std::fprintf(stderr, "varrun: stopping the other %zu rank(s)\n", alive);
      stopAll(SIGTERM);
    }
    if (alive == 0)
      break;

    if (stopping && Clock::now() >= killAt) {
      std::fprintf(stderr,
                   "varrun: killing %zu rank(s) still alive %lld ms after "
                   "being asked to stop\n",
                   alive, static_cast<long long>(grace.count()));
      signalRanks(SIGKILL);
      killAt = Clock::time_point::max();
    }
    // Wake for a signal, or at the latest when the grace period ends.
    auto wait = std::chrono::milliseconds(100);
    if (killAt != Clock::time_point::max())
      wait = std::max(
          std::chrono::milliseconds(1),
          std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                             killAt - Clock::now())));
    timespec timeout{0, static_cast<long>(wait.count()) * 1000000L};
    int sig = sigtimedwait(&handled, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      if (!stopping) {
        std::fprintf(stderr, "varrun: got %s, passing it to %zu rank(s)\n",
                     strsignal(sig), alive);
        result = 128 + sig;
        stopAll(sig);
      } else {
        // A second request to stop: no more grace.
        signalRanks(SIGKILL);
      }
    }
  }

  sigprocmask(SIG_SETMASK, &oldMask, nullptr);
  return result;
}

} // namespace var::comm
