"""Shared fixtures: the real Docker engine, the stand-in images, projects, a running `up`.

Tests marked ``docker`` skip without an engine, unless ``LAMBDADEV_REQUIRE_DOCKER=1``
(set by CI), which turns a missing engine into a failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests import standins

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REQUIRE_DOCKER = os.environ.get("LAMBDADEV_REQUIRE_DOCKER") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        if REQUIRE_DOCKER:
            pytest.fail(f"LAMBDADEV_REQUIRE_DOCKER=1 but no Docker engine answers: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    yield client
    # safety net: whatever a failed test left behind (tests that check clean-up look before this)
    for container in client.containers.list(all=True, filters={"label": "lambdadev.project"}):
        with contextlib.suppress(Exception):
            container.remove(force=True)


@pytest.fixture(scope="session")
def standin_images(docker_client) -> dict[str, str]:
    """Build (once) the local stand-ins for golang, provided:al2023 and distroless."""
    standins.ensure_standins(docker_client)
    return standins.base_images()


def lambdadev_env(base: str = "al2023", **extra: str) -> dict[str, str]:
    """The environment for a lambdadev subprocess that builds against the stand-ins."""
    base_image = standins.base_images()[base]
    env = {**os.environ, "NO_COLOR": "1"}
    env["LAMBDADEV_BUILD_ARGS"] = f"GO_IMAGE={standins.go_image()} BASE_IMAGE={base_image}"
    env.update(extra)
    return env


def run_lambdadev(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "lambdadev", *args],
        cwd=cwd,
        env=env if env is not None else lambdadev_env(),
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def lambdadev() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    return run_lambdadev


def new_project(parent: Path, name: str, *args: str, base: str = "al2023") -> Path:
    result = run_lambdadev("new", name, "--base", base, *args, cwd=parent, env=lambdadev_env(base))
    assert result.returncode == 0, result.stderr.decode()
    return parent / name


class Up:
    """A `lambdadev up` running in the background on a free port."""

    def __init__(
        self, project: Path, *args: str, base: str = "al2023", env: dict[str, str] | None = None
    ) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.invoke_url = self.url + INVOKE_PATH
        self.log = project.parent / f"up-{self.port}.log"
        self._log_fh = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lambdadev", "up", "--port", str(self.port), *args],
            cwd=project,
            env=env or lambdadev_env(base),
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 600) -> None:
        """Until the gateway answers an invocation (the first start builds the dev image)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"lambdadev up exited {self.proc.returncode}:\n{self.output()}")
            try:
                httpx.post(self.invoke_url, content=b"{}", timeout=30)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"lambdadev up never answered:\n{self.output()}")

    def output(self) -> str:
        self._log_fh.flush()
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log_fh.close()

    def __enter__(self) -> Up:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()


@pytest.fixture
def start_up(standin_images) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []

    def start(project: Path, *args: str, base: str = "al2023", env: dict[str, str] | None = None) -> Up:
        up = Up(project, *args, base=base, env=env)
        started.append(up)
        return up

    yield start
    for up in started:
        if up.proc.poll() is None:
            with contextlib.suppress(Exception):
                up.stop()


def project_containers(client, project: Path) -> list[str]:
    """Names of the containers (any state) whose label names this function folder."""
    from lambdadev.settings import resolve

    project_id = resolve(project).project_id
    return [
        c.name for c in client.containers.list(all=True, filters={"label": f"lambdadev.project={project_id}"})
    ]


@pytest.fixture(scope="module")
def probe_up(tmp_path_factory, standin_images) -> Iterator[Up]:
    """`up --no-watch` of the probe test function (tests/functions/probe) on scratch, for one module."""
    from tests.probe import probe_project

    up = Up(probe_project(tmp_path_factory, slot="a"), "--no-watch", base="scratch")
    up.wait_ready()
    yield up
    up.stop()
