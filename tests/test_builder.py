"""The incremental builder (lambdadev/builder.py): flags, the choice of builder, and real
``go build`` runs on the host (a stdlib-only package, so no module proxy is needed)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from lambdadev import builder, gotool
from lambdadev.arch import dockerfile_arg
from lambdadev.builder import BINARY, HostBuilder, choose, go_flags, out_dir
from lambdadev.errors import EnvironmentProblem, UsageError

DOCKERFILE = """ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=scratch
FROM ${GO_IMAGE} AS build
ARG GO_TAGS=lambda.norpc,timetzdata
"""
MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("v1") }\n'


def project(tmp_path: Path, go: str = "1.21", main: str = MAIN) -> Path:
    (tmp_path / "go.mod").write_text(f"module example.com/fn\n\ngo {go}\n")
    (tmp_path / "main.go").write_text(main)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_flags_follow_the_dockerfile(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert dockerfile_arg(root, "GO_IMAGE") == "golang:1.26"
    flags = go_flags(root)
    assert flags.tags == "lambda.norpc,timetzdata"
    cmd = flags.command("/out/x")
    assert cmd[:2] == ["go", "build"]
    assert "-trimpath" in cmd and "-ldflags=-s -w" in cmd
    assert cmd[cmd.index("-tags") + 1] == "lambda.norpc,timetzdata"
    env = flags.environment()
    assert env["CGO_ENABLED"] == "0" and env["GOOS"] == "linux"


def test_build_arg_wins_over_the_dockerfile(tmp_path: Path) -> None:
    assert go_flags(project(tmp_path), {"GO_TAGS": "custom"}).tags == "custom"


def test_choose(tmp_path: Path) -> None:
    root = project(tmp_path)
    with pytest.raises(UsageError):
        choose("fast", root)
    assert choose("container", root) == "container"
    if gotool.host_go_version() is None:
        pytest.skip("no Go on this machine")
    assert choose("auto", root) == "host"
    newer = project(tmp_path, go="1.99")
    assert choose("auto", newer) == "container"
    with pytest.raises(EnvironmentProblem, match=r"1\.99"):
        choose("host", newer)


needs_go = pytest.mark.skipif(gotool.host_go() is None, reason="no Go on this machine")


@pytest.mark.go
@needs_go
def test_host_build_installs_atomically_and_keeps_the_old_binary_on_errors(tmp_path: Path) -> None:
    root = project(tmp_path)
    host = HostBuilder(root, go_flags(root))

    async def scenario() -> None:
        await host.start()
        first = await host.build()
        assert first.ok, first.output
        binary = out_dir(root) / BINARY
        assert os.access(binary, os.X_OK)
        before = binary.read_bytes()
        (root / "main.go").write_text(MAIN.replace('fmt.Println("v1")', "undefined()"))
        broken = await host.build()
        assert not broken.ok
        assert "main.go:5:" in broken.output and "undefined" in broken.output
        assert binary.read_bytes() == before  # the old binary stays until a build succeeds
        (root / "main.go").write_text(MAIN.replace("v1", "v2"))
        fixed = await host.build()
        assert fixed.ok
        assert binary.read_bytes() != before
        assert sorted(p.name for p in out_dir(root).iterdir()) == [BINARY]  # no temp file left

    asyncio.run(scenario())


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.go
@needs_go
def test_cancelled_host_build_kills_the_compiler(tmp_path: Path) -> None:
    root = project(tmp_path)
    host = HostBuilder(root, go_flags(root))

    async def scenario() -> None:
        await host.start()
        task = asyncio.ensure_future(host.build())
        for _ in range(500):  # until `go build` runs
            if _processes_mentioning(str(out_dir(root))):
                break
            await asyncio.sleep(0.01)
        assert _processes_mentioning(str(out_dir(root))), "go build never started"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert _processes_mentioning(str(out_dir(root))) == []
    assert not (out_dir(root) / BINARY).exists()
    assert list(out_dir(root).iterdir()) == []


def test_in_daemon_thread_returns_and_raises() -> None:
    async def scenario() -> None:
        assert await builder.in_daemon_thread(lambda: 42) == 42
        with pytest.raises(ZeroDivisionError):
            await builder.in_daemon_thread(lambda: 1 // 0)

    asyncio.run(scenario())
