"""The RIE containers of one ``lambdadev up``.

Each container runs the ``dev`` image (RIE in front of the function) with its
port 8080 published on a free loopback port. RIE crashes on two overlapping
invocations, so a container is lent to one request at a time: ``acquire``
waits for an idle one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from lambdadev.engine import LABEL_PROJECT, LABEL_ROLE, LABEL_SESSION, Engine
from lambdadev.errors import EnvironmentProblem, LambdadevError
from lambdadev.rie import INVOKE_PATH, RIE_PORT


@dataclass
class Worker:
    index: int
    container_id: str
    port: int
    served: int = 0
    # set by the gateway when a request to it failed: checked (and replaced if dead) on return
    suspect: bool = False
    # set when the container must be replaced whatever its state (e.g. it hangs)
    condemned: str | None = None
    # set once replaced: its log follower stops
    retired: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"


@dataclass(frozen=True)
class ContainerSpec:
    """What every container of the pool is made from."""

    image: str
    name_prefix: str
    project_id: str
    session_id: str
    environment: Mapping[str, str]
    mem_limit: str | None = None
    mounts: Mapping[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None


class Pool:
    def __init__(
        self, engine: Engine, spec: ContainerSpec, size: int, on_log: Callable[[int, str], None] | None = None
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.size = size
        self.workers: list[Worker] = []
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._on_log = on_log
        self._closed = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.replaced = 0

    # ---- life cycle ----

    async def start(self) -> None:
        self.workers = list(await asyncio.gather(*(self._create(i) for i in range(self.size))))
        await asyncio.gather(*(self._wait_ready(w) for w in self.workers))
        for worker in self.workers:
            self._follow_logs(worker)
            self._idle.put_nowait(worker)

    async def _create(self, index: int) -> Worker:
        spec = self.spec
        labels = {LABEL_PROJECT: spec.project_id, LABEL_SESSION: spec.session_id, LABEL_ROLE: "rie"}
        container_id = await asyncio.to_thread(
            self.engine.run,
            spec.image,
            name=f"{spec.name_prefix}-{index}",
            labels=labels,
            ports={RIE_PORT: ("127.0.0.1", 0)},
            environment=spec.environment,
            mounts=spec.mounts,
            entrypoint=spec.entrypoint,
            mem_limit=spec.mem_limit,
        )
        port = await asyncio.to_thread(self.engine.host_port, container_id, RIE_PORT)
        return Worker(index=index, container_id=container_id, port=port)

    async def _wait_ready(self, worker: Worker, timeout: float = 20.0) -> None:
        """RIE prints nothing when it listens: poll until it answers HTTP (404 on another path)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                try:
                    await client.get(f"http://127.0.0.1:{worker.port}/lambdadev-ready")
                    return
                except httpx.TransportError:
                    if await asyncio.to_thread(self.engine.status, worker.container_id) in ("exited", "gone"):
                        break
                    await asyncio.sleep(0.02)
        raise EnvironmentProblem(
            f"the dev container {self.spec.name_prefix}-{worker.index} did not start answering",
            hint="run `docker logs` on it, or `lambdadev build --target dev` to check the image",
        )

    def close(self) -> None:
        """Remove every container of this pool (blocking; safe to call twice)."""
        self._closed.set()
        for worker in self.workers:
            self.engine.remove(worker.container_id)

    # ---- lending ----

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[Worker]:
        """Lend an idle container (FIFO: waiters are served in arrival order).

        A container marked with :meth:`suspect` or :meth:`discard` while lent is
        checked on return and replaced by a new one if it died; the pool keeps
        its size, and nobody else is lent the dead one.
        """
        worker = await self._idle.get()
        try:
            yield worker
        finally:
            worker.served += 1
            if worker.suspect or worker.condemned:
                self._spawn(self._check(worker))
            else:
                self._idle.put_nowait(worker)

    def suspect(self, worker: Worker) -> None:
        """A request to ``worker`` failed at the transport level: check it when it is returned."""
        worker.suspect = True

    def discard(self, worker: Worker, reason: str) -> None:
        """Replace ``worker`` when it is returned, whatever its state."""
        worker.condemned = reason

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, worker: Worker) -> None:
        reason = worker.condemned
        if reason is None:
            state = await asyncio.to_thread(self.engine.status, worker.container_id)
            if state == "running":
                worker.suspect = False
                self._idle.put_nowait(worker)
                return
            reason = f"stopped ({state})"
        await self._replace(worker, reason)

    async def _replace(self, old: Worker, reason: str) -> None:
        """Remove ``old``'s container and lend a new one in its place (same index, same spec)."""
        old.retired = True
        self._say(old.index, f"lambdadev: container {old.index} {reason}; starting a new one")
        await asyncio.to_thread(self.engine.remove, old.container_id)
        for attempt in range(5):
            if self._closed.is_set():
                return
            try:
                new = await self._create(old.index)
            except LambdadevError as exc:
                self._say(old.index, f"lambdadev: cannot start container {old.index}: {exc.message}")
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            try:
                await self._wait_ready(new)
            except LambdadevError as exc:
                self._say(old.index, f"lambdadev: container {old.index}: {exc.message}")
                await asyncio.to_thread(self.engine.remove, new.container_id)
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if self._closed.is_set():
                await asyncio.to_thread(self.engine.remove, new.container_id)
                return
            self.workers[old.index] = new
            self.replaced += 1
            self._follow_logs(new)
            self._idle.put_nowait(new)
            return
        self._say(old.index, f"lambdadev: gave up replacing container {old.index}; restart `lambdadev up`")

    def _say(self, index: int, line: str) -> None:
        if self._on_log is not None:
            self._on_log(index, line)

    @property
    def queued(self) -> int:
        """Requests waiting for a container (negative: idle containers)."""
        return -self._idle.qsize()

    async def restart_all(self) -> None:
        """Wait for every in-flight invocation, restart all containers, lend them again."""
        held = [await self._idle.get() for _ in self.workers]
        try:
            await asyncio.gather(*(self._restart(w) for w in held))
        finally:
            for worker in held:
                self._idle.put_nowait(worker)

    @contextlib.asynccontextmanager
    async def restarting(self) -> AsyncIterator[None]:
        """Hold every container (after its in-flight invocation) and restart them while the
        body runs, e.g. a build. RIE starts the function lazily, at the first invocation,
        so a binary replaced during the restart is the one that runs. The containers are
        lent again once both the body and the restarts are done."""
        held = [await self._idle.get() for _ in self.workers]
        try:
            restarts = asyncio.gather(*(self._restart(w) for w in held))
            try:
                yield
            finally:
                await restarts
        finally:
            for worker in held:
                self._idle.put_nowait(worker)

    async def _restart(self, worker: Worker) -> None:
        await asyncio.to_thread(self.engine.restart, worker.container_id, 0)
        # a restart publishes 8080 on a new random loopback port
        worker.port = await asyncio.to_thread(self.engine.host_port, worker.container_id, RIE_PORT)
        await self._wait_ready(worker)

    # ---- logs ----

    def _follow_logs(self, worker: Worker) -> None:
        if self._on_log is None:
            return
        on_log = self._on_log

        def follow() -> None:
            since: float | None = None
            while not self._closed.is_set() and not worker.retired:
                buffer = b""
                try:
                    for chunk in self.engine.logs(worker.container_id, since=since):
                        buffer += chunk
                        while b"\n" in buffer:
                            line, buffer = buffer.split(b"\n", 1)
                            on_log(worker.index, line.decode(errors="replace"))
                except Exception:  # the container went away: the pool replaces or closes it
                    pass
                since = time.time()
                if self._closed.wait(0.05):
                    return

        threading.Thread(target=follow, name=f"logs-{worker.index}", daemon=True).start()
