"""What fences in the grading child, decided in the parent, applied in the child, and reported as data.

The parent (:mod:`nnlearn.grading.runner`) asks :func:`plan` what this machine allows without extra privileges:

* Linux namespaces through util-linux ``unshare`` — a PID namespace (when the child ends, the kernel kills
  everything it started, even a ``setsid()``-ed grandchild), a network namespace with no interface up (no
  network), a mount namespace (the course's tests and solutions are hidden by empty mounts). As a normal user
  this needs a user namespace (``unshare --map-root-user``); as root it needs nothing more.
* As root, the child drops to a fresh, unused user id, so that ``RLIMIT_NPROC`` (which never applies to root)
  caps its processes, and so that it cannot read or write the grader's own files.

The child (:mod:`nnlearn.grading.child`) calls :func:`apply_in_child` before any student code runs and reports
:func:`facts` — what is *actually* in force, checked from the inside — which ends up in the grade report.
Only the standard library is used.
"""
from __future__ import annotations

import functools
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

PROCESS_MARGIN = 64  # tasks (processes and threads) the child may add to what its user already runs
OPEN_FILES = 256
UID_RANGE = (1_500_000_000, 1_600_000_000)  # fresh ids for the child when the grader runs as root
DISABLE_VAR = "NNLEARN_GRADING_NO_NAMESPACES"  # set to 1 to grade without namespaces (debugging)


# --- parent side -----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def namespace_prefix() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``unshare`` command prefix that works here, and the namespaces it gives (empty when none)."""
    exe = shutil.which("unshare")
    if not exe or not sys.platform.startswith("linux") or os.environ.get(DISABLE_VAR) == "1":
        return (), ()
    user = () if os.geteuid() == 0 else ("--map-root-user",)
    for flags, names in [(("--pid", "--fork", "--kill-child", "--mount-proc", "--net"), ("pid", "net", "mount")),
                         (("--net", "--mount"), ("net", "mount")),
                         (("--net",), ("net",))]:
        command = (exe, *user, *flags)
        try:
            done = subprocess.run([*command, sys.executable, "-S", "-c", ""], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return command, names
    return (), ()


def tasks_of_user(uid: int) -> int:
    """How many tasks (processes and threads) user ``uid`` runs now: what ``RLIMIT_NPROC`` counts."""
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                status = f.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def pids_of_user(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def kill_user(uid: int) -> None:
    """SIGKILL every process of the child's private user id (a backstop where there is no PID namespace)."""
    import signal
    for _ in range(20):
        pids = pids_of_user(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def fresh_uid() -> int | None:
    """An unused user id for the child when we are root (None otherwise: we cannot switch users)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    for _ in range(10):
        uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        if not pids_of_user(uid):
            return uid
    return None


def paths_to_hide(test_path: Path, keep: list[Path]) -> list[str]:
    """The course's tests and solutions: the test file itself, ``solutions/`` and ``exercises/tests/``.

    A directory that holds something the child needs (the package, Python, its workdir) is never hidden.
    """
    from .paths import EXERCISES, SOLUTIONS, TESTS, find_course_root, package_course_root

    candidates = [test_path.resolve()]
    for root in {find_course_root(test_path.parent), package_course_root()} - {None}:
        candidates += [root / SOLUTIONS, root / EXERCISES / TESTS]
    keep = [p.resolve() for p in keep]
    hidden = []
    for path in candidates:
        if path.exists() and not any(k == path or path in k.parents for k in keep) and str(path) not in hidden:
            hidden.append(str(path))
    return hidden


# --- child side ------------------------------------------------------------------------------------------

def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> bool:
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    return libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0


def hide(paths: list[str]) -> list[str]:
    """Cover each path with an empty read-only mount (needs our own mount namespace); return what worked."""
    MS_RDONLY, MS_BIND = 1, 4096
    done = []
    for path in paths:
        if os.path.isdir(path):
            ok = _mount("nnlearn-hidden", path, "tmpfs", MS_RDONLY, "size=4k,mode=0555")
        else:
            ok = _mount("/dev/null", path, None, MS_BIND, None)
        if ok:
            done.append(path)
    return done


def set_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """Lower this process's limits (a limit already set lower is kept); return those in force."""
    try:
        import resource
        import signal
    except ImportError:  # Windows: only the parent's wall-clock timeout applies
        return {}

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass  # a limit this platform does not let us set

    if limits.get("cpu_seconds"):
        cap(resource.RLIMIT_CPU, int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 1)
    if limits.get("memory_bytes") and hasattr(resource, "RLIMIT_AS"):
        cap(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    if limits.get("file_bytes"):
        cap(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
        # Writing past the size limit then raises OSError (caught like any error) instead of killing us.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if limits.get("open_files"):
        cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    if limits.get("processes") and hasattr(resource, "RLIMIT_NPROC"):
        cap(resource.RLIMIT_NPROC, int(limits["processes"]))
    cap(resource.RLIMIT_CORE, 0)

    def value(name: str) -> int | None:
        which = getattr(resource, name, None)
        if which is None:
            return None
        soft = resource.getrlimit(which)[0]
        return None if soft == resource.RLIM_INFINITY else soft
    return {"cpu_seconds": value("RLIMIT_CPU"), "memory_bytes": value("RLIMIT_AS"),
            "file_bytes": value("RLIMIT_FSIZE"), "open_files": value("RLIMIT_NOFILE"),
            "processes": value("RLIMIT_NPROC")}


def drop_user(uid: int) -> bool:
    """Become ``uid`` (group too, no supplementary groups), keeping only the right to *read* any file.

    Possible only as root. The Python installation may sit where only root can read (``/root/.pyenv``), and
    modules are imported lazily, so the child keeps ``CAP_DAC_READ_SEARCH`` — and nothing else: it cannot
    write the grader's files, and ``RLIMIT_NPROC`` applies (only ``CAP_SYS_RESOURCE``/``CAP_SYS_ADMIN`` lift
    it). ``no_new_privs`` keeps a setuid program from making it root again.
    """
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, CAP_DAC_READ_SEARCH = 8, 38, 2
        libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        header, data = Header(0x20080522, 0), (Data * 2)()
        data[0].effective = data[0].permitted = 1 << CAP_DAC_READ_SEARCH
        libc.capset(ctypes.byref(header), ctypes.byref(data))
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return os.getuid() == uid and os.geteuid() == uid


def network_blocked() -> bool:
    """True when no network interface other than loopback exists (our own network namespace)."""
    try:
        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        return False
    return names <= {"lo"}


def apply_in_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Hide the course files, set the limits, drop to the fresh user: everything before student code runs.

    ``spec`` is the job's ``isolation`` part (see ``runner.build_job``). Returns :func:`facts`.
    """
    namespaces = list(spec.get("namespaces", []))
    hidden = hide(spec.get("hide", [])) if "mount" in namespaces else []
    limits = set_limits(spec.get("limits", {}))
    dropped = drop_user(int(spec["uid"])) if spec.get("uid") is not None else False
    # RLIMIT_NPROC binds any user except the real root: a dropped user, or a normal user (also one mapped to
    # root inside its own user namespace).
    nproc = limits.get("processes") is not None and (dropped or not spec.get("parent_is_root", False))
    return {
        "pid_namespace": "pid" in namespaces and os.getpid() == 1,
        "network_blocked": "net" in namespaces and network_blocked(),
        "hidden_paths": hidden,
        "own_user": dropped,
        "process_limit_in_force": bool(nproc),
        "limits": limits,
    }
