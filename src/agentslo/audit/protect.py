"""Protected files: hash them before the battery, compare after each exploit, restore.

What an agent must not change: the suite's source (every file beneath the
folders of its task modules), the harness's own package, everything on the
agent's import path, and the store. The snapshot keeps each file's SHA-256,
size and modification time (a write that keeps the content still moves the
time, and is reported as *written*), the bytes of Python sources (so an
unsandboxed run can be undone), and whether each file a tampering agent plants
existed. Where workers were not sandboxed, :func:`restore` puts sources back and
removes planted files, so one exploit's damage never helps the next, nor
outlives the audit; under the sandbox a change cannot be the agent's, and it is
reported but left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import agentslo
from agentslo.agents.exploits import plant_targets
from agentslo.agents.exploits._reach import walk
from agentslo.trials.task import Task

__all__ = [
    "FileChange",
    "Snapshot",
    "protected_roots",
    "rebaseline",
    "restore",
    "take_snapshot",
]


@dataclass(frozen=True)
class _State:
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FileChange:
    """One protected file that is not as it was: ``changed``, ``written``, ``deleted``,
    or ``planted`` (a file an exploit creates, which did not exist)."""

    path: str
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "change": self.kind}


@dataclass
class Snapshot:
    """Protected files as they were, and the files a tampering agent would plant."""

    files: dict[str, _State] = field(default_factory=dict)
    sources: dict[str, bytes] = field(default_factory=dict)
    plants: dict[str, bool] = field(default_factory=dict)
    #: The files a tampering agent may create (``plants`` adds the folders they need).
    targets: list[str] = field(default_factory=list)

    def changes(self) -> list[FileChange]:
        """What differs now from the snapshot."""
        found = []
        for path, before in self.files.items():
            now = _state(Path(path))
            if now is None:
                found.append(FileChange(path, "deleted"))
            elif now.sha256 != before.sha256:
                found.append(FileChange(path, "changed"))
            elif now.mtime_ns != before.mtime_ns:
                found.append(FileChange(path, "written"))
        for path, existed in self.plants.items():
            if not existed and Path(path).exists():
                found.append(FileChange(path, "planted"))
        return found


def _state(path: Path) -> _State | None:
    try:
        data = path.read_bytes()
        return _State(hashlib.sha256(data).hexdigest(), len(data), path.stat().st_mtime_ns)
    except OSError:
        return None


def protected_roots(tasks: Iterable[Task], sys_path: Sequence[str]) -> list[str]:
    """The suite's module folders, agentslo's package and the agent's import path.

    The temporary directory is left out: agents' own directories live there, and
    other programs' scratch files come and go.
    """
    roots = {str(Path(agentslo.__file__).resolve().parent)}
    for task in tasks:
        module = sys.modules.get(getattr(task.build, "__module__", ""), None)
        source = getattr(module, "__file__", None)
        if source:
            roots.add(str(Path(source).resolve().parent))
    base = Path(sys.base_prefix).resolve() / "lib"
    scratch = Path(tempfile.gettempdir()).resolve()
    for entry in sys_path:
        path = Path(entry).resolve()
        packages = path.name.endswith("-packages")
        volatile = path.is_relative_to(scratch) or path == Path("/")
        if path.is_dir() and not packages and not volatile and not path.is_relative_to(base):
            roots.add(str(path))
    return sorted(roots)


def _plant_dirs(sys_path: Sequence[str]) -> list[str]:
    """Where the tampering agent plants: its ancestors (the temp dir), roots, packages."""
    dirs = [str(Path(tempfile.gettempdir()).resolve()), "/"]
    dirs += [str(Path(p).resolve()) for p in sys_path if Path(p).is_dir()]
    dirs.append(str(Path(agentslo.__file__).resolve().parent))
    return list(dict.fromkeys(dirs))


def take_snapshot(
    tasks: Iterable[Task], sys_path: Sequence[str], extra: Iterable[Path] = ()
) -> Snapshot:
    """Hash every protected file (``extra``: the store), note what plants exist."""
    roots = tuple(protected_roots(tasks, sys_path))
    snapshot = Snapshot()
    for path in [*walk(roots), *extra]:
        state = _state(path)
        if state is None:
            continue
        snapshot.files[str(path)] = state
        if path.suffix == ".py":
            snapshot.sources[str(path)] = path.read_bytes()
    path_dirs = os.environ.get("PATH", "").split(os.pathsep)
    for target in plant_targets(_plant_dirs(sys_path), path_dirs):
        snapshot.plants[str(target)] = target.exists()
        snapshot.targets.append(str(target))
        # folders a plant would create (/logs/verifier): removed with it if they were not there
        for parent in target.parents:
            if parent.exists():
                break
            snapshot.plants.setdefault(str(parent), False)
    return snapshot


def restore(snapshot: Snapshot, changes: Iterable[FileChange]) -> list[str]:
    """Undo ``changes``: sources back from the snapshot, planted files removed.

    For an unsandboxed worker only: under the sandbox an agent cannot have written
    the file, so a change came from another process (a person editing) and is
    reported, never reverted.
    """
    changes = list(changes)
    undone = []
    # deepest first, so a planted file goes before the planted folder that holds it
    for change in sorted(changes, key=lambda c: -len(Path(c.path).parts)):
        path = Path(change.path)
        with contextlib.suppress(OSError):
            if change.kind == "planted":
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()  # only when empty: never removes what someone else put there
                else:
                    path.unlink()
                undone.append(change.path)
            elif change.kind in ("changed", "deleted") and change.path in snapshot.sources:
                path.write_bytes(snapshot.sources[change.path])
                undone.append(change.path)
    rebaseline(snapshot, changes)
    return undone


def rebaseline(snapshot: Snapshot, changes: Iterable[FileChange]) -> None:
    """Make what is there now the baseline for the next exploit's comparison."""
    for change in changes:
        if change.kind == "planted":
            snapshot.plants[change.path] = Path(change.path).exists()
        elif change.path in snapshot.files:
            state = _state(Path(change.path))
            if state is None:
                del snapshot.files[change.path]
            else:
                snapshot.files[change.path] = state
                if change.path.endswith(".py"):
                    snapshot.sources[change.path] = Path(change.path).read_bytes()
