"""The gateway against the real engine, a real RIE and a real Go build (tests/functions/probe).

Two ``lambdadev up`` of the probe (function timeout 2 s): one with a pool of
one container, one with four. RIE crashes on two overlapping invocations, so
these tests prove the gateway never sends it two, queues instead, survives
the function's own failures, and replaces a container that dies.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from tests.conftest import Up, project_containers
from tests.probe import probe_project

pytestmark = pytest.mark.docker


def _up(project, concurrency: int) -> Up:
    up = Up(project, "--no-watch", "--concurrency", str(concurrency), base="scratch")
    up.wait_ready()
    return up


# two function folders: `up` removes the leftovers of its own function when it starts
@pytest.fixture(scope="module")
def up1(tmp_path_factory, standin_images):
    up = _up(probe_project(tmp_path_factory, slot="a"), 1)
    yield up
    up.stop()


@pytest.fixture(scope="module")
def up4(tmp_path_factory, standin_images):
    up = _up(probe_project(tmp_path_factory, slot="b"), 4)
    yield up
    up.stop()


def invoke(up: Up, event: dict, timeout: float = 30) -> httpx.Response:
    return httpx.post(up.invoke_url, json=event, timeout=timeout)


async def _burst(url: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        return await asyncio.gather(*(client.post(url, json={"n": i}) for i in range(count)))


def _assert_burst(docker_client, up: Up, count: int = 200) -> set[str]:
    before = _session_containers(docker_client, up)
    responses = asyncio.run(_burst(up.invoke_url, count))
    hosts = set()
    for i, resp in enumerate(responses):
        assert resp.status_code == 200, resp.text
        assert "x-amz-function-error" not in resp.headers
        body = resp.json()
        assert body["n"] == i and body["event"] == {"n": i}
        hosts.add(body["host"])
    after = _session_containers(docker_client, up)
    assert after == before, "a container was restarted or replaced during the burst"
    assert {cid[:12] for cid in after} >= hosts
    return hosts


def _session_containers(docker_client, up: Up) -> dict[str, tuple[int, str, str]]:
    """id -> (RestartCount, StartedAt, status) of every container of this function."""
    result = {}
    for name in project_containers(docker_client, up.project):
        c = docker_client.containers.get(name)
        result[c.id] = (c.attrs["RestartCount"], c.attrs["State"]["StartedAt"], c.status)
    return result


def test_200_concurrent_requests_with_one_container(docker_client, up1):
    hosts = _assert_burst(docker_client, up1)
    assert len(hosts) == 1


def test_200_concurrent_requests_with_four_containers(docker_client, up1, up4):
    hosts = _assert_burst(docker_client, up4)
    assert len(hosts) > 1, "with --concurrency 4 only one container served"


@pytest.mark.parametrize(
    ("event", "status", "error_type"),
    [
        ({"action": "error"}, 200, "errorString"),
        ({"action": "panic"}, 502, "string"),
        ({"action": "exit"}, 502, "Runtime.ExitError"),
        ({"action": "sleep", "ms": 4000}, 200, "Sandbox.Timedout"),
    ],
    ids=["error", "panic", "exit", "timeout"],
)
def test_function_failures_are_unhandled_errors_and_the_next_request_succeeds(
    docker_client, up4, event, status, error_type
):
    before = _session_containers(docker_client, up4)
    resp = invoke(up4, event)
    assert resp.status_code == status
    assert resp.headers["x-amz-function-error"] == "Unhandled"
    assert resp.headers["x-amz-executed-version"] == "$LATEST"
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["errorType"] == error_type
    if error_type == "Sandbox.Timedout":
        assert "Task timed out after 2.00 seconds" in body["errorMessage"]
        assert resp.headers["x-amzn-requestid"] in body["errorMessage"]
    # every container answers again (RIE re-inits the function), none was restarted
    for i in range(8):
        ok = invoke(up4, {"n": i})
        assert ok.status_code == 200 and ok.json()["n"] == i
        assert "x-amz-function-error" not in ok.headers
    assert _session_containers(docker_client, up4) == before


def test_request_id_is_the_one_rie_logs(up4):
    resp = invoke(up4, {"n": 1})
    request_id = resp.headers["x-amzn-requestid"]
    deadline = time.monotonic() + 10
    while request_id[:8] not in up4.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"λ {request_id[:8]}" in up4.output()


def test_other_function_names_and_methods_reach_the_invoke_path(up4):
    resp = httpx.post(up4.url + "/2015-03-31/functions/probe/invocations", json={"n": 7}, timeout=30)
    assert resp.status_code == 200 and resp.json()["n"] == 7


def test_payload_over_6mb_is_refused_with_413(up4):
    resp = httpx.post(up4.invoke_url, content=b"[" + b"0," * (3 * 1024 * 1024) + b"0]", timeout=30)
    assert resp.status_code == 413
    assert resp.json()["errorType"] == "RequestEntityTooLargeException"


def test_a_container_killed_during_an_invocation_is_replaced(docker_client, up1):
    (old_id,) = [cid for cid, s in _session_containers(docker_client, up1).items() if s[2] == "running"]
    result: dict[str, httpx.Response] = {}

    def slow() -> None:
        result["resp"] = invoke(up1, {"action": "sleep", "ms": 1500})

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.7)
    docker_client.containers.get(old_id).kill()
    thread.join(30)
    resp = result["resp"]
    assert resp.status_code == 502
    assert resp.headers["x-amz-function-error"] == "Unhandled"
    assert resp.json()["errorType"] == "lambdadev.ContainerExited"
    # the next request waits for the replacement and is answered by it
    ok = invoke(up1, {"n": 2})
    assert ok.status_code == 200 and ok.json()["n"] == 2
    running = [cid for cid, s in _session_containers(docker_client, up1).items() if s[2] == "running"]
    assert len(running) == 1 and running[0] != old_id
    assert ok.json()["host"] == running[0][:12]
    assert "starting a new one" in up1.output()


def test_a_container_killed_while_idle_is_replaced_without_failing_a_request(docker_client, up1):
    (old_id,) = [cid for cid, s in _session_containers(docker_client, up1).items() if s[2] == "running"]
    docker_client.containers.get(old_id).kill()
    for i in range(3):
        ok = invoke(up1, {"n": i})
        assert ok.status_code == 200, ok.text
        assert ok.json()["n"] == i
    running = [cid for cid, s in _session_containers(docker_client, up1).items() if s[2] == "running"]
    assert len(running) == 1 and running[0] != old_id


def test_stopping_up_leaves_no_container(docker_client, up1, up4):
    for up in (up1, up4):
        assert up.stop() == 0
        assert project_containers(docker_client, up.project) == []
