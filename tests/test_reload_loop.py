"""The reload loop's wiring (lambdadev/up.py Reloader) with a scripted builder and change sets
fed in directly: when the gate closes and opens, what it serves, what is built how often."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from lambdadev.builder import BuildResult
from lambdadev.errors import EnvironmentProblem
from lambdadev.gateway import Gate
from lambdadev.up import Reloader, ReloadReport, rie_entrypoint
from lambdadev.watch import ChangeSet


class ScriptedBuilder:
    name = "scripted"

    def __init__(self, *results: BuildResult | Exception) -> None:
        self.results = list(results)
        self.builds = 0
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def start(self) -> None:
        pass

    async def build(self) -> BuildResult:
        self.builds += 1
        self.started.set()
        await self.release.wait()
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def close(self) -> None:
        pass


class Harness:
    def __init__(self, builder: ScriptedBuilder, rebuild: list[BuildResult] | None = None) -> None:
        self.gate = Gate()
        self.builder = builder
        self.restarts = 0
        self.rebuilds = 0
        self.rebuild_results = rebuild or []
        self.reports: list[ReloadReport] = []
        self.reloader = Reloader(self.gate, builder, self.restarting, self.rebuild, self.reports.append)

    @contextlib.asynccontextmanager
    async def restarting(self) -> AsyncIterator[None]:
        self.restarts += 1
        yield

    async def rebuild(self) -> BuildResult:
        self.rebuilds += 1
        return self.rebuild_results.pop(0)

    def listen(self, start: bool = True) -> asyncio.Queue[ChangeSet | None]:
        """Feed the reloader from a queue the test fills; start it unless told not to."""
        changes: asyncio.Queue[ChangeSet | None] = asyncio.Queue()
        self.reloader.listen(feed(changes))
        if start:
            self.reloader.start()
        return changes


def change(*paths: str, full: bool = False) -> ChangeSet:
    return ChangeSet(frozenset(paths), full)


async def feed(queue: asyncio.Queue[ChangeSet | None]) -> AsyncIterator[ChangeSet]:
    while (item := await queue.get()) is not None:
        yield item


async def settle(h: Harness, reloads: int) -> None:
    while h.reloader.reloads < reloads:
        await asyncio.sleep(0.001)


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 10))  # type: ignore[arg-type]


def test_gate_closes_when_a_change_is_seen_and_opens_after_the_build() -> None:
    async def scenario() -> None:
        builder = ScriptedBuilder(BuildResult(True, 0.1, ""))
        h = Harness(builder)
        changes = h.listen()
        assert h.gate.is_open
        builder.release.clear()
        changes.put_nowait(change("main.go"))
        await builder.started.wait()
        assert not h.gate.is_open  # a request made now waits for the new code
        waiter = asyncio.ensure_future(h.gate.wait())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        builder.release.set()
        assert await waiter is None
        await settle(h, 1)
        assert h.restarts == 1 and builder.builds == 1
        assert h.reports[0].ok and h.reports[0].change.paths == {"main.go"}
        assert h.reports[0].line().startswith("↻ main.go changed · built 0.10 s · ready ")
        await h.reloader.aclose()

    run(scenario())


def test_build_error_is_served_until_the_next_good_build() -> None:
    async def scenario() -> None:
        error = "./main.go:19:9: undefined: Responsee"
        builder = ScriptedBuilder(BuildResult(False, 0.1, error), BuildResult(True, 0.1, ""))
        h = Harness(builder)
        changes = h.listen()
        changes.put_nowait(change("main.go"))
        await settle(h, 1)
        assert h.gate.is_open and await h.gate.wait() == error
        assert not h.reports[0].ok and "build failed" in h.reports[0].line()
        changes.put_nowait(change("main.go"))
        await settle(h, 2)
        assert await h.gate.wait() is None
        await h.reloader.aclose()

    run(scenario())


def test_saves_during_a_build_are_built_before_the_gate_opens() -> None:
    async def scenario() -> None:
        builder = ScriptedBuilder(BuildResult(True, 0.1, ""), BuildResult(True, 0.1, ""))
        h = Harness(builder)
        changes = h.listen()
        builder.release.clear()
        changes.put_nowait(change("main.go"))
        await builder.started.wait()
        changes.put_nowait(change("util.go"))
        await asyncio.sleep(0.01)
        builder.release.set()
        await settle(h, 1)
        assert builder.builds == 2  # the second save was built too …
        assert len(h.reports) == 1  # … in the same reload, before anybody was served
        assert h.reports[0].change.paths == {"main.go", "util.go"}
        assert h.gate.is_open
        await h.reloader.aclose()

    run(scenario())


def test_config_change_rebuilds_the_image_not_the_binary() -> None:
    async def scenario() -> None:
        builder = ScriptedBuilder()
        h = Harness(builder, rebuild=[BuildResult(True, 2.0, "")])
        changes = h.listen()
        changes.put_nowait(change("Dockerfile", full=True))
        await settle(h, 1)
        assert h.rebuilds == 1 and builder.builds == 0 and h.restarts == 0
        assert "rebuilt dev image" in h.reports[0].line()
        await h.reloader.aclose()

    run(scenario())


def test_builder_trouble_is_served_as_the_error_and_up_keeps_running() -> None:
    async def scenario() -> None:
        builder = ScriptedBuilder(
            EnvironmentProblem("the builder container is gone"), BuildResult(True, 0.1, "")
        )
        h = Harness(builder)
        changes = h.listen()
        changes.put_nowait(change("main.go"))
        await settle(h, 1)
        assert "builder container is gone" in (await h.gate.wait() or "")
        changes.put_nowait(change("main.go"))
        await settle(h, 2)
        assert await h.gate.wait() is None
        await h.reloader.aclose()

    run(scenario())


def test_changes_seen_before_start_keep_the_gate_closed() -> None:
    async def scenario() -> None:
        builder = ScriptedBuilder(BuildResult(True, 0.1, ""))
        h = Harness(builder)
        changes = h.listen(start=False)
        changes.put_nowait(change("main.go"))
        await asyncio.sleep(0.01)
        h.reloader.start()
        assert not h.gate.is_open
        await settle(h, 1)
        assert h.gate.is_open
        await h.reloader.aclose()

    run(scenario())


def test_rie_entrypoint_points_at_the_mounted_bootstrap() -> None:
    rie = "/usr/local/bin/aws-lambda-rie"
    assert rie_entrypoint([rie, "/var/task/bootstrap"]) == [rie, "/opt/lambdadev/bootstrap"]
    assert rie_entrypoint(["/var/task/bootstrap"]) is None
    assert rie_entrypoint([rie, "/var/task/other"]) is None
    assert rie_entrypoint(None) is None
