"""Confine an agent process before any agent code runs (Linux Landlock, no capabilities).

Process isolation alone leaves an agent running as the harness's user: it could
write every file that user can write (the suite's source, the harness's own
modules, a ``conftest.py`` or ``.pth`` file the next interpreter would execute)
and, as root, read the harness's memory through ``/proc``. The worker therefore
confines itself at start-up, before it imports an agent:

- **Landlock** (Linux >= 5.13, unprivileged): the file system becomes read-only
  except the worker's private directory (and ``/dev/null``, ``/dev/shm``), and the
  files the harness names as hidden (the store) cannot be read at all; on
  kernels with Landlock's scopes (ABI 6) the agent can neither signal processes
  outside its sandbox nor reach their abstract Unix sockets. Landlock also forbids
  ptrace-style access (``/proc/PID/mem``, ``environ``, ``fd``) to processes outside
  the sandbox, root or not.
- **No capabilities**: a worker started as root drops every capability (and sets
  ``no_new_privs``), so it cannot override file permissions, trace, load modules or
  regain privileges through a setuid program.

What is confined is reported to the harness in the worker's ``ready`` message; a
kernel without Landlock leaves the file system as the user has it, which the
audit's protected-file check then shows (see docs/audit.md).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

__all__ = ["confine", "read_rules"]

_SYS_CREATE_RULESET: Final = 444
_SYS_ADD_RULE: Final = 445
_SYS_RESTRICT_SELF: Final = 446
_CREATE_RULESET_VERSION: Final = 1
_RULE_PATH_BENEATH: Final = 1
_PR_SET_NO_NEW_PRIVS: Final = 38
_PR_CAPBSET_DROP: Final = 24
_CAP_LAST_CAP: Final = 63

_EXECUTE: Final = 1 << 0
_WRITE_FILE: Final = 1 << 1
_READ_FILE: Final = 1 << 2
_READ_DIR: Final = 1 << 3
_READ: Final = _EXECUTE | _READ_FILE | _READ_DIR
_TRUNCATE: Final = 1 << 14
#: The rights a rule on a file (not a directory) may carry.
_FILE_RIGHTS: Final = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE
#: File-system rights each Landlock ABI version handles (IOCTL_DEV, ABI 5, is left
#: unhandled so terminals and pipes keep working).
_FS_RIGHTS: Final = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1}
_SCOPE_ABSTRACT_UNIX: Final = 1 << 0
_SCOPE_SIGNAL: Final = 1 << 1
#: Paths an agent may still write besides its own directory.
_WRITABLE_DEVICES: Final = ("/dev/null", "/dev/shm")


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _abi(libc: Any) -> int:
    version = int(libc.syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION))
    return max(version, 0)


def _fs_rights(abi: int) -> int:
    return _FS_RIGHTS[min(abi, 3)]


def _add_path(libc: Any, ruleset: int, path: str, rights: int) -> bool:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not Path(path).is_dir():
            rights &= _FILE_RIGHTS
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))
        return int(libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, attr, 0)) == 0
    finally:
        os.close(fd)


def read_rules(hidden: Sequence[str]) -> list[tuple[str, int]]:
    """Landlock read rules covering the whole file system except the ``hidden`` files.

    Landlock only grants, so hiding a file means granting everything around it:
    every directory on the way from ``/`` to a hidden file may be listed, and every
    entry in it is granted except the next step on the way (granted the same way)
    and the hidden file itself. Entries created after the worker started in those
    directories are not readable, which is the safe side.
    """
    # a hidden path that cannot be resolved stays hidden under its own (normalised) name
    targets = {_resolved(Path(h)) or Path(os.path.abspath(h)) for h in hidden}  # noqa: PTH100
    if not targets:
        return [("/", _READ)]
    on_the_way = {parent for t in targets for parent in t.parents}
    rules: list[tuple[str, int]] = []

    def visit(directory: Path) -> None:
        rules.append((str(directory), _READ_DIR))
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry in targets:
                continue
            if entry.is_symlink():
                # A rule follows the link: never grant one that leads to a hidden file.
                # One that cannot be resolved (a loop) leads nowhere: it gets no rule.
                real = _resolved(entry)
                if real is None or any(t == real or t.is_relative_to(real) for t in targets):
                    continue
                rules.append((str(entry), _READ))
            elif entry in on_the_way:
                visit(entry)
            else:
                rules.append((str(entry), _READ))

    visit(Path("/"))
    return rules


def _resolved(path: Path) -> Path | None:
    """``path`` with every symlink followed; None for a symlink loop or an unreadable step.

    (Before Python 3.13 ``Path.resolve`` raises RuntimeError on a loop; uncaught,
    that would stop the worker before it could start.)
    """
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _landlock(libc: Any, writable: Sequence[str], hidden: Sequence[str]) -> dict[str, Any]:
    abi = _abi(libc)
    if abi < 1:
        return {"landlock": 0}
    handled = _fs_rights(abi)
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    fields: tuple[int, ...] = (handled, 0, scoped) if abi >= 6 else (handled,)
    attr = ctypes.create_string_buffer(struct.pack("=" + "Q" * len(fields), *fields))
    ruleset = int(libc.syscall(_SYS_CREATE_RULESET, attr, len(attr.raw), 0))
    if ruleset < 0:
        return {"landlock": 0, "error": os.strerror(ctypes.get_errno())}
    try:
        rules = read_rules(hidden)
        if not _add_path(libc, ruleset, *rules[0]):
            return {"landlock": 0, "error": "could not allow reading /"}
        for path, rights in rules[1:]:
            _add_path(libc, ruleset, path, rights)  # an entry that vanished needs no rule
        allowed = [
            p for p in (*writable, *_WRITABLE_DEVICES) if _add_path(libc, ruleset, p, handled)
        ]
        if int(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) != 0:
            return {"landlock": 0, "error": "prctl(PR_SET_NO_NEW_PRIVS) failed"}
        if int(libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0)) != 0:
            return {"landlock": 0, "error": os.strerror(ctypes.get_errno())}
    finally:
        os.close(ruleset)
    hidden_now = sorted(h for h in hidden if Path(h).exists())
    return {"landlock": abi, "writable": allowed, "scoped": bool(scoped), "hidden": hidden_now}


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _drop_capabilities(libc: Any) -> bool:
    """Drop the bounding set and every effective/permitted capability (no-op if none)."""
    for cap in range(_CAP_LAST_CAP + 1):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails quietly past the last cap
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    return int(libc.capset(ctypes.byref(header), data)) == 0


def confine(writable: Sequence[str], hidden: Sequence[str] = ()) -> dict[str, Any]:
    """Confine this process: write only beneath ``writable``, never read ``hidden``, no
    capabilities.

    ``hidden`` is for files of the harness an agent must not read even though its
    user could: the store (which holds earlier trials' verifier evidence and the
    secret world key).

    Returns what was achieved (``landlock``: the ABI version applied, 0 for none;
    ``capabilities_dropped``; ``uid``), for the harness to record. Never raises: a
    platform without these mechanisms runs unconfined and says so.
    """
    report: dict[str, Any] = {"platform": sys.platform, "uid": os.getuid()}
    if not sys.platform.startswith("linux"):
        report["landlock"] = 0
        return report
    # Any failure is reported, not raised: a worker that dies here fails every trial
    # as a harness error, while an unconfined one is visible in the run's record.
    try:
        libc = _libc()
    except Exception as exc:
        report.update({"landlock": 0, "error": repr(exc)})
        return report
    try:
        report["capabilities_dropped"] = _drop_capabilities(libc)
    except Exception as exc:
        report.update({"capabilities_dropped": False, "capabilities_error": repr(exc)})
    try:
        report.update(_landlock(libc, writable, hidden))
    except Exception as exc:
        report.update({"landlock": 0, "error": repr(exc)})
    return report
