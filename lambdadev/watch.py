"""Which saves trigger a reload: the only module that imports ``watchfiles``.

Watched: ``*.go``, ``go.mod``, ``go.sum``, ``go.work``, the ``watch`` globs of
``lambdadev.toml`` (e.g. files embedded with ``//go:embed``) → an incremental
build; ``Dockerfile``, ``.dockerignore``, ``lambdadev.toml`` and the env file →
a full rebuild of the dev image. Ignored: ``.git``, ``.lambdadev`` (the build
output), editor temp and backup files.

Timing: watchfiles' Rust loop sleeps ``step`` ms, and yields once a step sees
no new change (or ``debounce`` ms after the first one). Its defaults (50 ms,
1600 ms) are tuned for servers; here a save is seen within 2 steps (2 * STEP_MS)
and saves less than a step apart coalesce into one change set (for at most
DEBOUNCE_MS). The step is short because ``up`` closes its gate the moment a
change is seen; saves that arrive while a build runs are merged by the reload
loop and built before the gate opens, so a short step costs at most one extra
incremental build, never a stale answer.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

STEP_MS = 10
DEBOUNCE_MS = 300
SOURCE_NAMES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})
CONFIG_NAMES = frozenset({"Dockerfile", ".dockerignore", "lambdadev.toml"})
IGNORED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".lambdadev", ".idea", ".vscode", "node_modules", "__pycache__"}
)
TEMP_SUFFIXES = (".swp", ".swx", ".swo", ".swn", "~", ".tmp", ".bak", ".orig", "___jb_tmp___", "___jb_old___")


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class ChangeSet:
    """One coalesced burst of saves."""

    paths: frozenset[str]  # relative to the function folder, posix
    full: bool  # the Dockerfile, lambdadev.toml or the env file changed: rebuild the image
    seen_at: float = field(default_factory=time.monotonic)

    def merge(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.paths | other.paths, self.full or other.full, min(self.seen_at, other.seen_at))

    def describe(self) -> str:
        names = sorted(self.paths)
        if len(names) > 3:
            return f"{len(names)} files changed"
        return ", ".join(names) + " changed"


class SourceFilter:
    """Decides, per path, whether a change matters and whether it needs a new image."""

    def __init__(self, root: Path, globs: Iterable[str] = (), env_file: Path | None = None) -> None:
        self.root = root.resolve()
        self.globs = tuple(globs)
        self.config = set(CONFIG_NAMES)
        self.extra_env: Path | None = None  # an env file outside the function folder
        if env_file is not None:
            try:
                self.config.add(env_file.resolve().relative_to(self.root).as_posix())
            except ValueError:
                self.extra_env = env_file.resolve()

    def relative(self, path: str | Path) -> str | None:
        resolved = Path(path)
        if self.extra_env is not None and resolved == self.extra_env:
            return str(resolved)
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def kind(self, path: str | Path) -> str | None:
        """``"source"``, ``"config"`` or None (ignored)."""
        rel = self.relative(path)
        if rel is None:
            return None
        if self.extra_env is not None and rel == str(self.extra_env):
            return "config"
        parts = PurePosixPath(rel).parts
        if not parts or any(p in IGNORED_DIRS for p in parts[:-1]):
            return None
        name = parts[-1]
        if is_temp(name):
            return None
        if rel in self.config:
            return "config"
        if name.endswith(".go") or name in SOURCE_NAMES:
            return "source"
        if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g) for g in self.globs):
            return "source"
        return None

    def __call__(self, change: object, path: str) -> bool:
        return self.kind(path) is not None

    def change_set(self, paths: Iterable[str | Path]) -> ChangeSet | None:
        kinds = {}
        for path in paths:
            kind = self.kind(path)
            if kind is not None:
                kinds[self.relative(path) or str(path)] = kind
        if not kinds:
            return None
        return ChangeSet(frozenset(kinds), "config" in kinds.values())


def is_temp(name: str) -> bool:
    """Editor swap, backup and atomic-save temp files (vim, emacs, JetBrains, gofmt)."""
    return (
        name.endswith(TEMP_SUFFIXES)
        or name.startswith((".#", "#"))
        or name == "4913"  # vim's probe file
        or name.startswith(".goutputstream")
        or (name.startswith(".") and name.endswith(".go~"))
    )


async def watch(
    source: SourceFilter,
    stop: StopEvent | None = None,
    step_ms: int = STEP_MS,
    debounce_ms: int = DEBOUNCE_MS,
) -> AsyncIterator[ChangeSet]:
    """Change sets from the file system, as soon as a burst of saves settles."""
    from watchfiles import awatch

    watch_paths = [str(source.root)]
    if source.extra_env is not None:
        watch_paths.append(str(source.extra_env.parent))
    async for changes in awatch(
        *watch_paths,
        watch_filter=source,
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,  # set it before cancelling: the watching thread checks it every step
        recursive=True,
    ):
        change_set = source.change_set(path for _, path in changes)
        if change_set is not None:
            yield change_set
