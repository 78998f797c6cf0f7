"""``lambdadev up``: build the dev image, start the pool, serve the gateway until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import uvicorn

from lambdadev import gotool
from lambdadev.builder import (
    BINARY,
    MOUNT_POINT,
    Builder,
    BuildResult,
    in_daemon_thread,
    make_builder,
    out_dir,
)
from lambdadev.console import out
from lambdadev.engine import LABEL_PROJECT, LABEL_SESSION, Engine, Image
from lambdadev.errors import BuildFailed, EnvironmentProblem, LambdadevError
from lambdadev.gateway import Gate, Gateway
from lambdadev.pool import ContainerSpec, Pool
from lambdadev.settings import Settings
from lambdadev.watch import ChangeSet, SourceFilter, watch

REPORT_RE = re.compile(r"^REPORT RequestId: (\S+)\s+(.*)$")


@dataclass(frozen=True)
class UpOptions:
    watch: bool = True
    # resolves the settings again with the same flags (after lambdadev.toml or the env file changed)
    reload_settings: Callable[[], Settings] | None = None


def bind(host: str, port: int) -> socket.socket:
    """Bind the gateway's port first, so a busy port fails before any build."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it Nagle + delayed ACK add ~40 ms to every response (see docs/gateway.md)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise EnvironmentProblem(
            f"port {port} on {host} is already in use ({exc.strerror})",
            hint=f"stop what listens there, or choose another port with --port, e.g. --port {port + 1}",
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def build_args(settings: Settings) -> dict[str, str]:
    """Host Go proxy settings, then the file's/flags' build args (which win)."""
    return {**gotool.proxy_settings(), **settings.build_args}


def build_image(
    engine: Engine,
    settings: Settings,
    target: str,
    tag: str | None = None,
    cancelled: threading.Event | None = None,
) -> Image:
    """Build one target of the function's Dockerfile with progress on stderr."""
    from lambdadev import arch

    tag = tag or settings.image_tag(target)
    buildargs = build_args(settings)
    buildargs.update(
        arch.build_args(
            engine, settings.arch, target, buildargs, arch.dockerfile_arg(settings.root, "BASE_IMAGE")
        )
    )
    if target == "dev" and settings.arch != arch.host_arch():
        out.info(f"dev runs natively on this {arch.host_arch()} machine; release images are {settings.arch}")
    with out.status(f"building {target} image {tag}") as status:

        def on_line(line: str) -> None:
            if out.is_tty:
                status.update(line.strip()[:100])
            else:
                out.line(line)

        return engine.build(
            settings.root,
            target=target,
            tag=tag,
            buildargs=buildargs,
            labels={LABEL_PROJECT: settings.project_id},
            on_line=on_line,
            cancelled=cancelled,
        )


def function_environment(settings: Settings) -> dict[str, str]:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": settings.name,
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(settings.timeout),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    env.update(settings.env)
    return env


def format_log(index: int, line: str) -> str | None:
    """RIE's own chatter is dropped; START/END are folded into one REPORT line."""
    if "(rapid)" in line or line.startswith(("START RequestId:", "END RequestId:")):
        return None
    match = REPORT_RE.match(line)
    if match:
        fields = dict(
            part.split(": ", 1) for part in match.group(2).split("\t") if ": " in part and part.strip()
        )
        billed = fields.get("Billed Duration", "?")
        text = f"λ {match.group(1)[:8]} {fields.get('Duration', '?')} (billed {billed}"
        if "Init Duration" in fields:
            text += f", init {fields['Init Duration']}"
        return text + ")"
    return line


def rie_entrypoint(entrypoint: list[str] | None) -> list[str] | None:
    """The dev image's ENTRYPOINT with its bootstrap replaced by the mounted one, or None when
    it does not run RIE in front of a ``bootstrap``."""
    if not entrypoint or len(entrypoint) < 2 or not entrypoint[0].endswith("aws-lambda-rie"):
        return None
    if not entrypoint[1].endswith("/" + BINARY):
        return None
    return [entrypoint[0], f"{MOUNT_POINT}/{BINARY}", *entrypoint[2:]]


@dataclass(frozen=True)
class ReloadReport:
    change: ChangeSet
    ok: bool
    built: float  # seconds the (last) build took
    ready: float  # seconds from the change being seen to the gate opening
    full: bool
    output: str = ""

    def line(self) -> str:
        what = "rebuilt dev image" if self.full else "built"
        if self.ok:
            return f"↻ {self.change.describe()} · {what} {self.built:.2f} s · ready {self.ready:.2f} s"
        return (
            f"✗ {self.change.describe()} · build failed after {self.built:.2f} s · invocations get the error"
        )


def print_report(report: ReloadReport) -> None:
    if report.ok:
        out.line(report.line(), style="cyan")
        return
    out.line(report.line(), style="bold red")
    for line in report.output.splitlines():
        out.log(line)


class Reloader:
    """The reload loop: change sets in, builds and restarts out, the gate in between.

    The gate closes as soon as a change is seen, so a request made after a save
    waits for the new code; saves that arrive during a build are built before the
    gate opens again. A failed build opens the gate with the compiler's output.
    """

    def __init__(
        self,
        gate: Gate,
        builder: Builder | None,
        restarting: Callable[[], AbstractAsyncContextManager[None]],
        rebuild: Callable[[], Awaitable[BuildResult]],
        report: Callable[[ReloadReport], None] = print_report,
    ) -> None:
        self.gate = gate
        self.builder = builder
        self.restarting = restarting
        self.rebuild = rebuild
        self.report = report
        self.queue: asyncio.Queue[ChangeSet] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.reloads = 0

    def listen(self, changes: AsyncIterable[ChangeSet]) -> None:
        """Start taking change sets (before the first start, so no save is missed)."""
        self._tasks.append(asyncio.ensure_future(self._pump(changes)))

    def start(self) -> None:
        """Serve: open the gate unless saves are already waiting, and reload on each change."""
        if self.queue.empty():
            self.gate.open()
        self._tasks.append(asyncio.ensure_future(self._loop()))

    async def _pump(self, changes: AsyncIterable[ChangeSet]) -> None:
        async for change in changes:
            self.gate.close()
            self.queue.put_nowait(change)

    async def _loop(self) -> None:
        while True:
            await self.reload(await self.queue.get())

    def _drain(self, change: ChangeSet) -> ChangeSet:
        while not self.queue.empty():
            change = change.merge(self.queue.get_nowait())
        return change

    async def reload(self, change: ChangeSet) -> ReloadReport:
        todo = shown = self._drain(change)
        while True:
            full = todo.full or self.builder is None
            try:
                if full:
                    result = await self.rebuild()
                else:
                    assert self.builder is not None
                    async with self.restarting():
                        result = await self.builder.build()
            except LambdadevError as exc:
                result = BuildResult(False, 0.0, exc.message + (f"\nhint: {exc.hint}" if exc.hint else ""))
            if self.queue.empty():
                break
            # saved again during the build: build that too before anybody is served
            todo = self._drain(self.queue.get_nowait())
            shown = shown.merge(todo)
        self.gate.open(None if result.ok else result.output)
        self.reloads += 1
        report = ReloadReport(
            shown, result.ok, result.seconds, time.monotonic() - shown.seen_at, full, result.output
        )
        self.report(report)
        return report

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Session:
    """One ``lambdadev up``: its containers, its builder, its gateway, its clean-up."""

    def __init__(self, settings: Settings, engine: Engine, options: UpOptions) -> None:
        self.settings = settings
        self.engine = engine
        self.options = options
        self.session_id = uuid.uuid4().hex[:8]
        self.pool: Pool | None = None
        self.old_pools: list[Pool] = []
        self.builder: Builder | None = None
        self.gateway: Gateway | None = None
        self.generation = 0
        self.hot = False  # the containers run the mounted bootstrap
        self.stop = threading.Event()

    def remove_leftovers(self) -> None:
        removed = self.engine.remove_labelled(f"{LABEL_PROJECT}={self.settings.project_id}")
        if removed:
            out.info(f"removed {len(removed)} leftover container(s) of an earlier run")

    @property
    def name_prefix(self) -> str:
        return f"lambdadev-{self.settings.project_id}-{self.session_id}"

    def container_spec(self, image: Image, settings: Settings | None = None) -> ContainerSpec:
        settings = settings or self.settings
        mounts: dict[str, str] = {}
        entrypoint = None
        if self.builder is not None:
            config = self.engine.image_attrs(image.id).get("Config") or {}
            entrypoint = rie_entrypoint(config.get("Entrypoint"))
            if entrypoint is None:
                out.warn(
                    "the dev image's ENTRYPOINT does not run aws-lambda-rie …/bootstrap: "
                    "every change rebuilds the dev image"
                )
            else:
                mounts = {str(out_dir(settings.root)): MOUNT_POINT}
        self.hot = bool(mounts)
        suffix = f"-g{self.generation}" if self.generation else ""
        return ContainerSpec(
            image=image.id,
            name_prefix=self.name_prefix + suffix,
            project_id=settings.project_id,
            session_id=self.session_id,
            environment=function_environment(settings),
            mem_limit=f"{settings.memory}m",
            mounts=mounts,
            entrypoint=entrypoint,
        )

    def _make_builder(self, settings: Settings) -> Builder:
        return make_builder(
            settings.builder,
            self.engine,
            settings.root,
            build_args(settings),
            project_id=settings.project_id,
            session_id=self.session_id,
            name_prefix=self.name_prefix,
        )

    async def _build_all(self, settings: Settings) -> tuple[Image, BuildResult | None]:
        """The dev image and (with watching) the builder's binary, side by side."""

        async def image() -> Image:
            return await in_daemon_thread(lambda: build_image(self.engine, settings, "dev", None, self.stop))

        async def binary() -> BuildResult | None:
            if self.builder is None:
                return None
            await self.builder.start()
            return await self.builder.build()

        try:
            async with asyncio.TaskGroup() as group:
                image_task = group.create_task(image())
                binary_task = group.create_task(binary())
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None
        return image_task.result(), binary_task.result()

    async def serve(self, sock: socket.socket) -> None:
        settings = self.settings
        gate = Gate()
        reloader: Reloader | None = None
        if self.options.watch:
            self.builder = self._make_builder(settings)
            reloader = Reloader(gate, self.builder, self._restarting, self.rebuild)
            reloader.listen(watch(SourceFilter(settings.root, settings.watch, settings.env_file), self.stop))
        try:
            image, first = await self._build_all(settings)
            if first is not None and not first.ok:
                hint = "fix the code and run `lambdadev up` again"
                raise BuildFailed(f"go build failed:\n{first.output}", hint, first.output)
            self.pool = Pool(self.engine, self.container_spec(image), settings.concurrency, on_log=self._log)
            if not self.hot and reloader is not None:
                reloader.builder = None
            await self.pool.start()
            gateway = Gateway(self.pool, gate, timeout=settings.timeout)
            self.gateway = gateway
            server = _Server(
                uvicorn.Config(gateway.app, log_level="warning", access_log=False, lifespan="off")
            )
            self._server = server
            url = f"http://{settings.host}:{settings.port}"
            out.ok(f"{settings.name} is up on {url}  (Ctrl-C to stop)")
            out.info(f"  curl -XPOST {url}/2015-03-31/functions/function/invocations -d '{{}}'")
            if reloader is not None:
                builder = self.builder.name if self.hot and self.builder else "dev image"
                out.info(f"  watching {settings.root} for changes (rebuilds with: {builder})")
                reloader.start()
            else:
                gate.open()
            try:
                await server.serve(sockets=[sock])
            finally:
                await gateway.aclose()
        finally:
            self.stop.set()  # the watcher's thread checks it
            if reloader is not None:
                await reloader.aclose()

    def _restarting(self) -> AbstractAsyncContextManager[None]:
        assert self.pool is not None
        return self.pool.restarting()

    async def rebuild(self) -> BuildResult:
        """The Dockerfile, lambdadev.toml or the env file changed: new settings, new dev image,
        new binary, new containers; the old ones go once their invocations are done."""
        started = time.monotonic()
        try:
            settings = self.options.reload_settings() if self.options.reload_settings else self.settings
        except LambdadevError as exc:
            return BuildResult(False, time.monotonic() - started, f"{exc.message}\nhint: {exc.hint or ''}")
        if (settings.port, settings.host) != (self.settings.port, self.settings.host):
            out.warn("a new port or host takes effect when you start `lambdadev up` again")
        if self.builder is not None and (
            settings.builder != self.settings.builder or settings.build_args != self.settings.build_args
        ):
            old_builder, self.builder = self.builder, self._make_builder(settings)
            await in_daemon_thread(old_builder.close)
        try:
            image, binary = await self._build_all(settings)
        except BuildFailed as exc:
            return BuildResult(False, time.monotonic() - started, exc.log or exc.message)
        if binary is not None and not binary.ok:
            return BuildResult(False, time.monotonic() - started, binary.output)
        self.generation += 1
        new = Pool(self.engine, self.container_spec(image, settings), settings.concurrency, on_log=self._log)
        try:
            await new.start()
        except BaseException:
            await in_daemon_thread(new.close)
            raise
        old, self.pool = self.pool, new
        self.settings = settings
        if self.gateway is not None:
            self.gateway.pool = new
        if old is not None:
            self.old_pools.append(old)
            async with contextlib.AsyncExitStack() as stack:  # wait for its in-flight invocations
                for _ in old.workers:
                    await stack.enter_async_context(old.worker())
            await in_daemon_thread(old.close)
            self.old_pools.remove(old)
        return BuildResult(True, time.monotonic() - started, "")

    def _log(self, index: int, line: str) -> None:
        text = format_log(index, line)
        if text is None:
            return
        if text.startswith("λ "):
            out.line(text, style="dim")
        else:
            out.log(text)

    def close(self) -> None:
        for pool in (*self.old_pools, self.pool):
            if pool is not None:
                pool.close()
        if self.builder is not None:
            with contextlib.suppress(Exception):
                self.builder.close()
        # a build or start that was interrupted may have left containers without a pool
        with contextlib.suppress(Exception):
            self.engine.remove_labelled(f"{LABEL_SESSION}={self.session_id}")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``up`` owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run(settings: Settings, engine: Engine, options: UpOptions) -> int:
    sock = bind(settings.host, settings.port)
    session = Session(settings, engine, options)
    try:
        session.remove_leftovers()
        asyncio.run(_main(session, sock))
    finally:
        with out.status("stopping: removing containers"):
            session.close()
        sock.close()
    out.info("stopped")
    return 0


async def _main(session: Session, sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    serve = asyncio.ensure_future(session.serve(sock))

    def on_signal() -> None:
        session.stop.set()
        server = getattr(session, "_server", None)
        if server is not None and serve is not None and not server.should_exit and server.started:
            server.should_exit = True
        else:
            serve.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    with contextlib.suppress(asyncio.CancelledError):
        await serve
