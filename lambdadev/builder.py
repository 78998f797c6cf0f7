"""Incremental Go builds for hot reload: the new ``bootstrap`` without a new image.

``up`` mounts ``.lambdadev/build/`` (read-only) into its RIE containers and
points RIE at the ``bootstrap`` in it. On a change a builder compiles the
function with the Dockerfile's flags (``CGO_ENABLED=0 GOOS=linux``, the
Dockerfile's ``GO_TAGS``, ``-trimpath -ldflags "-s -w"``) into a temporary
file and renames it over ``bootstrap``, so a container never sees half a
binary. Two builders keep the Go build cache between builds and between
sessions:

* ``host``: the host's ``go`` (when present and at least go.mod's version),
  with the host's own build and module caches;
* ``container``: a long-lived container of the Dockerfile's ``GO_IMAGE`` with
  the named volumes ``lambdadev-go-build`` and ``lambdadev-go-mod``; one
  ``docker exec`` per build.

``auto`` (the default) takes the host's Go when it can: it measured faster on
our machines (docs/reload.md, ``python -m bench.reload``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from lambdadev import arch, gotool
from lambdadev.arch import dockerfile_arg
from lambdadev.engine import LABEL_PROJECT, LABEL_ROLE, LABEL_SESSION, Engine
from lambdadev.errors import EnvironmentProblem, UsageError

OUT_DIR = Path(".lambdadev") / "build"
BINARY = "bootstrap"
MOUNT_POINT = "/opt/lambdadev"
CACHE_VOLUMES = {"lambdadev-go-build": "/cache/go-build", "lambdadev-go-mod": "/cache/go-mod"}
BUILDERS = ("auto", "host", "container")
DEFAULT_TAGS = "lambda.norpc"

T = TypeVar("T")


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    seconds: float
    output: str  # the compiler's output (file:line:col: message) when not ok


class Builder(Protocol):
    name: str

    async def start(self) -> None: ...

    async def build(self) -> BuildResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class GoFlags:
    """The flags of the Dockerfile's build stage, for the host's architecture."""

    tags: str
    goarch: str | None  # None: the builder's native architecture

    def command(self, output: str) -> list[str]:
        return ["go", "build", "-tags", self.tags, "-trimpath", "-ldflags=-s -w", "-o", output, "."]

    def environment(self) -> dict[str, str]:
        env = {"CGO_ENABLED": "0", "GOOS": "linux", "GOTOOLCHAIN": "local"}
        if self.goarch:
            env["GOARCH"] = self.goarch
        return env


def go_flags(root: Path, build_args: dict[str, str] | None = None) -> GoFlags:
    args = build_args or {}
    tags = args.get("GO_TAGS") or dockerfile_arg(root, "GO_TAGS") or DEFAULT_TAGS
    return GoFlags(tags=tags, goarch=arch.goarch(arch.host_arch()))


def go_mod_version(root: Path) -> str | None:
    try:
        match = re.search(r"^go\s+(\d+\.\d+)", (root / "go.mod").read_text(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2])


def host_go_fits(root: Path) -> bool:
    """The host has Go, at least as new as the ``go`` line of go.mod."""
    host = gotool.host_go_version()
    if host is None or gotool.host_go() is None:
        return False
    wanted = go_mod_version(root)
    return wanted is None or _version(host) >= _version(wanted)


def out_dir(root: Path) -> Path:
    return root / OUT_DIR


def install(tmp: Path, final: Path) -> None:
    """Make the new binary visible at once: chmod, then rename over the old one."""
    with contextlib.suppress(PermissionError):  # made by root in the builder container
        tmp.chmod(0o755)
    tmp.replace(final)


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run a blocking call in a daemon thread: unlike ``asyncio.to_thread`` a cancelled
    wait does not keep the process alive until the call returns."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, name="lambdadev-blocking", daemon=True).start()
    return await future


class HostBuilder:
    """``go build`` on the host; a cancelled build kills the compiler at once."""

    name = "host"

    def __init__(self, root: Path, flags: GoFlags) -> None:
        self.root = root
        self.flags = flags
        self.out = out_dir(root)

    async def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)

    async def build(self) -> BuildResult:
        started = time.monotonic()
        tmp = self.out / f".{BINARY}.{os.getpid()}.tmp"
        cmd = self.flags.command(str(tmp))
        go = gotool.host_go() or "go"
        env = {**os.environ, **self.flags.environment()}
        proc = await asyncio.create_subprocess_exec(
            go,
            *cmd[1:],
            cwd=self.root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = await proc.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                await asyncio.shield(proc.wait())
            tmp.unlink(missing_ok=True)
            raise
        text = output.decode(errors="replace").strip()
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            return BuildResult(False, time.monotonic() - started, text or f"go build: exit {proc.returncode}")
        install(tmp, self.out / BINARY)
        return BuildResult(True, time.monotonic() - started, text)

    def close(self) -> None:
        pass


class ContainerBuilder:
    """``go build`` by ``docker exec`` in a long-lived container of the Go image.

    The caches live in named volumes that outlive the container (and ``up``);
    the container carries the project's labels, so ``lambdadev down`` removes it
    after a killed run.
    """

    name = "container"

    def __init__(
        self,
        engine: Engine,
        root: Path,
        flags: GoFlags,
        *,
        image: str,
        container_name: str,
        project_id: str,
        session_id: str,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.root = root
        self.flags = GoFlags(tags=flags.tags, goarch=None)  # the Go image's own arch is the engine's
        self.image = image
        self.container_name = container_name
        self.labels = {LABEL_PROJECT: project_id, LABEL_SESSION: session_id, LABEL_ROLE: "builder"}
        self.environment = environment or {}
        self.out = out_dir(root)
        self.container_id: str | None = None

    async def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        if self.container_id is not None:
            return

        def create() -> str:
            for volume in CACHE_VOLUMES:
                self.engine.ensure_volume(volume, {"lambdadev.cache": "go"})
            binds = {name: (inside, "rw") for name, inside in CACHE_VOLUMES.items()}
            binds[str(self.root)] = ("/src", "ro")
            binds[str(self.out)] = ("/out", "rw")
            env = {
                **self.environment,
                "GOCACHE": CACHE_VOLUMES["lambdadev-go-build"],
                "GOMODCACHE": CACHE_VOLUMES["lambdadev-go-mod"],
            }
            return self.engine.run_idle(
                self.image, name=self.container_name, labels=self.labels, binds=binds, environment=env
            )

        self.container_id = await in_daemon_thread(create)

    async def build(self) -> BuildResult:
        if self.container_id is None:
            await self.start()
        assert self.container_id is not None
        container_id = self.container_id
        started = time.monotonic()
        tmp_name = f".{BINARY}.{os.getpid()}.tmp"
        cmd = self.flags.command(f"/out/{tmp_name}")
        code, output = await in_daemon_thread(
            lambda: self.engine.exec(container_id, cmd, environment=self.flags.environment(), workdir="/src")
        )
        tmp = self.out / tmp_name
        text = output.strip()
        if code != 0:
            tmp.unlink(missing_ok=True)
            return BuildResult(False, time.monotonic() - started, text or f"go build: exit {code}")
        install(tmp, self.out / BINARY)
        return BuildResult(True, time.monotonic() - started, text)

    def close(self) -> None:
        if self.container_id is not None:
            self.engine.remove(self.container_id)
            self.container_id = None


def choose(mode: str, root: Path) -> str:
    """``auto`` → ``host`` when the host's Go fits go.mod, else ``container``."""
    if mode not in BUILDERS:
        raise UsageError(f"unknown builder {mode!r}", hint=f"choose one of: {', '.join(BUILDERS)}")
    if mode == "host" and not host_go_fits(root):
        found = gotool.host_go_version()
        raise EnvironmentProblem(
            f'builder = "host" needs Go {go_mod_version(root) or ""} on this machine'
            + (f" (found {found})" if found else " (no `go` on PATH)"),
            hint='install it, or use builder = "container" (the Dockerfile\'s Go image)',
        )
    if mode == "auto":
        return "host" if host_go_fits(root) else "container"
    return mode


def make_builder(
    mode: str,
    engine: Engine,
    root: Path,
    build_args: dict[str, str],
    *,
    project_id: str,
    session_id: str,
    name_prefix: str,
) -> Builder:
    flags = go_flags(root, build_args)
    if choose(mode, root) == "host":
        return HostBuilder(root, flags)
    image = build_args.get("GO_IMAGE") or dockerfile_arg(root, "GO_IMAGE")
    if not image:
        raise UsageError(
            "the Dockerfile names no Go image (ARG GO_IMAGE=…) for the builder container",
            hint='set GO_IMAGE in [build.args], or use builder = "host"',
        )
    proxy = {k: v for k, v in build_args.items() if k in gotool.PROXY_VARS}
    return ContainerBuilder(
        engine,
        root,
        flags,
        image=image,
        container_name=f"{name_prefix}-builder",
        project_id=project_id,
        session_id=session_id,
        environment=proxy,
    )
