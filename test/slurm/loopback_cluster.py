"""A real Slurm cluster on loopback for end-to-end tests: munged, slurmctld
and one slurmd per node (Debian's packages), started in a temporary folder
as this process's children and taken down, with every process they left,
when the `with` block ends, however it ends.

Each node is a slurmd on 127.0.0.1 with its own port; node names must
resolve to a loopback address, since job steps look their first node up.
"""

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld",
           "slurmd": "/usr/sbin/slurmd"}
CLIENTS = ["srun", "sbatch", "sinfo", "squeue", "scancel", "scontrol"]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


class CannotStart(Exception):
    """This machine cannot run the cluster (no Slurm, not root, ...)."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # A daemon started here dies with the test, even when the test is
    # killed before its clean-up runs.
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_job_id(jobs=32):
    """A first job id whose varrun rendezvous ports (10000 + job id % 20000,
    see runtime/comm/Rendezvous.h) are free for the next `jobs` jobs, so
    that clusters of tests running side by side do not meet there."""
    for _ in range(100):
        first = random.randrange(1000, 20000 - jobs)
        try:
            for job in range(first, first + jobs):
                with socket.socket() as s:
                    s.bind(("0.0.0.0", 10000 + job))
            return first
        except OSError:
            continue
    raise RuntimeError("no free run of %d ports in 11000-30000" % jobs)


def _loopback_name(name):
    try:
        return socket.gethostbyname(name).startswith("127.")
    except OSError:
        return False


def usable_node_names(wanted):
    """Up to `wanted` distinct names that resolve to loopback."""
    names = []
    for name in [socket.gethostname().split(".")[0], "localhost"]:
        if name not in names and _loopback_name(name):
            names.append(name)
    return names[:wanted]


def check_can_start():
    """Raises CannotStart with the reason when the cluster cannot run here."""
    if os.geteuid() != 0:
        raise CannotStart("needs root (slurmd runs jobs as any user)")
    missing = [path for path in DAEMONS.values() if not os.access(path, os.X_OK)]
    missing += [name for name in CLIENTS if shutil.which(name) is None]
    if missing:
        raise CannotStart("missing " + ", ".join(missing) + " (apt-get install "
                          "slurmctld slurmd slurm-client munge)")
    if not os.path.isdir("/proc/self"):
        raise CannotStart("needs /proc")


class LoopbackCluster:
    def __init__(self, nodes, cpus_per_node=4, start_timeout=30.0):
        self.nodes = nodes
        self.cpus = cpus_per_node
        self.start_timeout = start_timeout
        self.dir = None
        self.daemons = []  # (name, Popen)
        self.env = None

    # -- bring-up ------------------------------------------------------------

    def __enter__(self):
        check_can_start()
        # Orphans (slurmstepd daemonizes) become our children, so that the
        # clean-up can find and end every one of them.
        if _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise CannotStart("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" %
                              ctypes.get_errno())
        self.dir = tempfile.mkdtemp(prefix="var-slurm-")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _start(self):
        d = self.dir
        for sub in ["munge", "state", "log"] + ["spool-" + n for n in self.nodes]:
            os.makedirs(os.path.join(d, sub))
        os.chmod(d, 0o755)
        os.chmod(os.path.join(d, "munge"), 0o755)
        key = os.path.join(d, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(128))
        os.chmod(key, 0o400)
        self.munge_socket = os.path.join(d, "munge", "munge.socket")

        ctld_port = _free_port()
        conf = [
            "ClusterName=vartest",
            "FirstJobId=%d" % _first_job_id(),
            # slurmctld runs only where its host name is this one.
            "SlurmctldHost=%s(127.0.0.1)" % socket.gethostname().split(".")[0],
            "SlurmctldPort=%d" % ctld_port,
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=" + self.munge_socket,
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MailProg=/bin/true",
            # Declared CPUs may exceed the machine's without draining it.
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            "StateSaveLocation=" + os.path.join(d, "state"),
            "SlurmdSpoolDir=" + os.path.join(d, "spool-%n"),
            "SlurmctldPidFile=" + os.path.join(d, "slurmctld.pid"),
            "SlurmdPidFile=" + os.path.join(d, "slurmd-%n.pid"),
        ]
        for name in self.nodes:
            conf.append("NodeName=%s NodeAddr=127.0.0.1 Port=%d CPUs=%d "
                        "State=UNKNOWN" % (name, _free_port(), self.cpus))
        conf.append("PartitionName=test Nodes=ALL Default=YES "
                    "MaxTime=INFINITE State=UP OverSubscribe=FORCE:4")
        self.conf = os.path.join(d, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")

        # Commands see this cluster only, whatever job this test runs in.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_",
                                         "VARRUN_"))}
        self.env["SLURM_CONF"] = self.conf

        self._daemon("munged", [DAEMONS["munged"], "--foreground", "--force",
                                "--key-file=" + key,
                                "--socket=" + self.munge_socket,
                                "--pid-file=" + os.path.join(d, "munge", "pid"),
                                "--seed-file=" + os.path.join(d, "munge", "seed"),
                                "--log-file=" + os.path.join(d, "log", "munged.log")])
        self._wait_for(lambda: os.path.exists(self.munge_socket), "munged's socket")
        self._daemon("slurmctld", [DAEMONS["slurmctld"], "-D", "-i", "-f", self.conf])
        for name in self.nodes:
            self._daemon("slurmd " + name,
                         [DAEMONS["slurmd"], "-D", "-N", name, "-f", self.conf])
        self._wait_for(self._all_idle, "every node idle in sinfo")

    def _daemon(self, name, argv):
        log = open(os.path.join(self.dir, "log", name.replace(" ", "-") + ".out"), "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=self.env,
                                   preexec_fn=_die_with_parent)
        log.close()
        self.daemons.append((name, process))

    def _wait_for(self, ready, what):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name, process in self.daemons:
                if process.poll() is not None:
                    raise RuntimeError("%s exited with code %d while waiting for "
                                       "%s\n%s" % (name, process.returncode, what,
                                                   self.logs()))
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError("no %s after %.0f s\n%s" % (what, self.start_timeout,
                                                      self.logs()))

    def _all_idle(self):
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"],
                                env=self.env, capture_output=True, text=True)
        states = dict(line.split() for line in result.stdout.splitlines()
                      if len(line.split()) == 2)
        return all(states.get(name) == "idle" for name in self.nodes)

    # -- use -----------------------------------------------------------------

    def run(self, argv, timeout=120, cwd=None, extra_env=None):
        """Runs a client command (srun, sbatch, ...) against this cluster."""
        env = dict(self.env)
        env.update(extra_env or {})
        return subprocess.run(argv, env=env, cwd=cwd or self.dir, timeout=timeout,
                              capture_output=True, text=True)

    def run_batch(self, sbatch_args, timeout=120, extra_env=None):
        """Submits a batch job and waits for it (polling faster than
        `sbatch --wait`, which sleeps 10 s); returns (JobState, exit code,
        sbatch's output)."""
        submit = self.run(["sbatch", "--parsable"] + sbatch_args, timeout=30,
                          extra_env=extra_env)
        if submit.returncode != 0:
            return "NOT SUBMITTED", submit.returncode, submit.stdout + submit.stderr
        job = submit.stdout.strip().split(";")[0]
        deadline = time.monotonic() + timeout
        while True:
            show = self.run(["scontrol", "show", "job", "-o", job], timeout=30)
            fields = dict(item.split("=", 1) for item in show.stdout.split()
                          if "=" in item)
            state = fields.get("JobState", "UNKNOWN")
            if state not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING",
                             "UNKNOWN"):
                code = int(fields.get("ExitCode", "-1:0").split(":")[0])
                return state, code, submit.stdout + show.stdout
            if time.monotonic() > deadline:
                self.run(["scancel", job], timeout=30)
                return "TIMEOUT", -1, submit.stdout + show.stdout
            time.sleep(0.1)

    def logs(self, lines=20):
        """The last lines of every daemon's log, for failure reports."""
        out = []
        log_dir = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(log_dir)):
            with open(os.path.join(log_dir, name), errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
            out.append("--- %s\n%s" % (name, "\n".join(tail)))
        return "\n".join(out)

    # -- tear-down -----------------------------------------------------------

    def close(self):
        """Cancels jobs, stops the daemons and ends every process they left;
        returns the pids it had to kill after the daemons were gone."""
        if self.env and any(p.poll() is None for n, p in self.daemons
                            if n == "slurmctld"):
            subprocess.run(["scancel", "--full", "--partition=test"],
                           env=self.env, capture_output=True, timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                queue = subprocess.run(["squeue", "-h"], env=self.env,
                                       capture_output=True, text=True, timeout=10)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.1)
        for name, process in reversed(self.daemons):
            if process.poll() is None:
                process.terminate()
        for name, process in reversed(self.daemons):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.daemons = []
        self.leftovers = self._end_orphans()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return self.leftovers

    def _end_orphans(self):
        """Children of this process that nobody waits for (slurmstepd and
        the tasks of a step it left): reaped if they have exited, else
        TERM, and KILL after 3 s. Returns the pids that had to be signalled."""
        signalled = []
        start = time.monotonic()
        while True:
            alive = []
            for pid, state in _children(os.getpid()):
                if state == "Z":
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
                else:
                    alive.append(pid)
            if not alive:
                return signalled
            waited = time.monotonic() - start
            if waited > 10:
                raise RuntimeError("processes %s would not end" % alive)
            for pid in alive:
                if pid not in signalled:
                    signalled.append(pid)
                try:
                    os.kill(pid, signal.SIGTERM if waited < 3 else signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)


def _children(parent):
    """(pid, state) of every process whose parent is `parent`."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == parent:
            children.append((int(entry), fields[0]))
    return children
