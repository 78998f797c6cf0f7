"""``lambdadev up``: build the dev image, start the pool, serve the gateway until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from lambdadev import gotool
from lambdadev.console import out
from lambdadev.engine import LABEL_PROJECT, LABEL_SESSION, Engine, Image
from lambdadev.errors import EnvironmentProblem
from lambdadev.gateway import Gate, Gateway
from lambdadev.pool import ContainerSpec, Pool
from lambdadev.settings import Settings

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
        arch.build_args(engine, settings.arch, target, buildargs, arch.dockerfile_base(settings.root))
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


class Session:
    """One ``lambdadev up``: its containers, its gateway, its clean-up."""

    def __init__(self, settings: Settings, engine: Engine, options: UpOptions) -> None:
        self.settings = settings
        self.engine = engine
        self.options = options
        self.session_id = uuid.uuid4().hex[:8]
        self.pool: Pool | None = None
        self.stop = threading.Event()

    def remove_leftovers(self) -> None:
        removed = self.engine.remove_labelled(f"{LABEL_PROJECT}={self.settings.project_id}")
        if removed:
            out.info(f"removed {len(removed)} leftover container(s) of an earlier run")

    def container_spec(self, image: Image) -> ContainerSpec:
        return ContainerSpec(
            image=image.id,
            name_prefix=f"lambdadev-{self.settings.project_id}-{self.session_id}",
            project_id=self.settings.project_id,
            session_id=self.session_id,
            environment=function_environment(self.settings),
            mem_limit=f"{self.settings.memory}m",
        )

    async def serve(self, sock: socket.socket) -> None:
        settings = self.settings
        image = await asyncio.to_thread(build_image, self.engine, settings, "dev", None, self.stop)
        self.pool = Pool(self.engine, self.container_spec(image), settings.concurrency, on_log=self._log)
        await self.pool.start()
        gate = Gate()
        gate.open()
        gateway = Gateway(self.pool, gate, timeout=settings.timeout)
        server = _Server(uvicorn.Config(gateway.app, log_level="warning", access_log=False, lifespan="off"))
        self._server = server
        url = f"http://{settings.host}:{settings.port}"
        out.ok(f"{settings.name} is up on {url}  (Ctrl-C to stop)")
        out.info(f"  curl -XPOST {url}/2015-03-31/functions/function/invocations -d '{{}}'")
        try:
            await server.serve(sockets=[sock])
        finally:
            await gateway.aclose()

    def _log(self, index: int, line: str) -> None:
        text = format_log(index, line)
        if text is not None:
            out.log(text)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
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
