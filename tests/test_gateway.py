"""Unit tests of the gateway's wiring: payload-2.0 mapping both ways, the queue bound, errors.

A fake pool lends fake workers and a fake upstream answers for RIE, so these
run in milliseconds; the gateway's own RIE client is tested against a small
asyncio server; the real
engine and RIE are in test_gateway_docker.py and test_function_url_docker.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from lambdadev.gateway import (
    Gate,
    Gateway,
    Outcome,
    RieClient,
    UpstreamLost,
    UpstreamUnreachable,
    url_event,
    url_response,
)
from tests.conftest import free_port


def scope(method="GET", path="/hello", query=b"", headers=(), client=("10.0.0.9", 5555)):
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": client,
        "server": ("127.0.0.1", 9000),
        "http_version": "1.1",
    }


# ---- request mapping ----


def test_event_has_every_payload_v2_field():
    event = url_event(
        scope(
            "POST",
            "/a/b",
            b"x=1&x=2&y=&z=%20",
            [
                ("host", "127.0.0.1:9000"),
                ("user-agent", "ua/1"),
                ("cookie", "s=1; t=2"),
                ("x-rep", "a"),
                ("x-rep", "b"),
                ("content-type", "application/json"),
            ],
        ),
        b'{"k":1}',
        "req-1",
        now=1710080523.512,
    )
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/a/b" and event["rawQueryString"] == "x=1&x=2&y=&z=%20"
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-rep"] == "a,b"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "", "z": " "}
    assert event["body"] == '{"k":1}' and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "POST",
        "path": "/a/b",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.9",
        "userAgent": "ua/1",
    }
    assert ctx["requestId"] == "req-1" and ctx["routeKey"] == "$default" and ctx["stage"] == "$default"
    assert ctx["time"] == "10/Mar/2024:14:22:03 +0000" and ctx["timeEpoch"] == 1710080523512
    assert ctx["domainName"] == "127.0.0.1:9000" and ctx["accountId"] == "anonymous"


def test_event_without_body_query_or_cookies_omits_them():
    event = url_event(scope(), b"", "r")
    assert "body" not in event and "cookies" not in event and "queryStringParameters" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body", "b64"),
    [
        ("application/octet-stream", b"\x00\xff", True),
        ("image/png", b"abc", True),
        ("text/plain; charset=utf-8", "héllo".encode(), False),
        ("application/vnd.api+json", b"{}", False),
        ("text/plain", b"\xff\xfe", True),  # says text, is not UTF-8
    ],
)
def test_binary_bodies_are_base64(content_type, body, b64):
    event = url_event(scope("POST", headers=[("content-type", content_type)]), body, "r")
    assert event["isBase64Encoded"] is b64
    decoded = base64.b64decode(event["body"]) if b64 else event["body"].encode()
    assert decoded == body


# ---- response mapping ----


def outcome(payload, status=200, error=False):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Outcome(status, body, error, "r")


def test_response_with_status_headers_cookies():
    status, headers, body = url_response(
        outcome(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "text/html", "X-N": 3},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": "<p>hi</p>",
            }
        )
    )
    assert status == 201 and body == b"<p>hi</p>"
    assert (b"content-type", b"text/html") in headers and (b"x-n", b"3") in headers
    assert [v for k, v in headers if k == b"set-cookie"] == [b"a=1; Path=/", b"b=2"]


def test_base64_response_body_is_decoded():
    data = bytes(range(256))
    status, _, body = url_response(
        outcome({"statusCode": 200, "body": base64.b64encode(data).decode(), "isBase64Encoded": True})
    )
    assert status == 200 and body == data


@pytest.mark.parametrize("payload", [{"hello": "world"}, [1, 2], "text", 42])
def test_json_without_status_code_is_a_200_json_body(payload):
    status, headers, body = url_response(outcome(payload))
    assert status == 200 and json.loads(body) == payload
    assert headers == [(b"content-type", b"application/json")]


@pytest.mark.parametrize(
    "result",
    [
        outcome({"errorMessage": "x", "errorType": "y"}, error=True),
        outcome({"errorMessage": "x"}, status=502, error=True),
        outcome(b"not json"),
        outcome({"statusCode": "abc"}),
        outcome({"statusCode": 200, "body": "***", "isBase64Encoded": True}),
    ],
    ids=["error", "panic", "not-json", "bad-status", "bad-base64"],
)
def test_function_errors_and_malformed_answers_are_502(result):
    status, _, body = url_response(result)
    assert (status, body) == (502, b"Internal Server Error")


# ---- the queue, with a fake pool and an in-process RIE stand-in ----


class FakeWorker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.port = 1000 + index


class FakePool:
    """Lends workers one at a time, like Pool (the wiring under test is the gateway's)."""

    def __init__(self, size: int) -> None:
        self.idle: asyncio.Queue[FakeWorker] = asyncio.Queue()
        for i in range(size):
            self.idle.put_nowait(FakeWorker(i))
        self.suspected: list[int] = []

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[FakeWorker]:
        w = await self.idle.get()
        try:
            yield w
        finally:
            self.idle.put_nowait(w)

    def suspect(self, worker: FakeWorker) -> None:
        self.suspected.append(worker.index)

    def discard(self, worker: FakeWorker, reason: str) -> None:
        self.suspected.append(worker.index)


class FakeUpstream:
    def __init__(self, handler) -> None:
        self.handler = handler

    async def post(self, port: int, payload: bytes, request_id: str) -> tuple[int, bytes]:
        return await self.handler(port, payload)

    async def aclose(self) -> None:
        pass


def make_gateway(size: int, handler, max_queue: int = 1000) -> tuple[Gateway, FakePool]:
    pool = FakePool(size)
    gate = Gate()
    gate.open()
    gateway = Gateway(pool, gate, timeout=3, max_queue=max_queue)  # type: ignore[arg-type]
    gateway.upstream = FakeUpstream(handler)
    return gateway, pool


def asgi_client(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://127.0.0.1:9000")


INVOKE = "/2015-03-31/functions/function/invocations"


def test_past_the_queue_bound_callers_get_429():
    release = asyncio.Event()
    in_flight = 0
    peak = 0

    async def rie(port: int, payload: bytes) -> tuple[int, bytes]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return 200, payload

    async def scenario() -> list[httpx.Response]:
        gateway, _ = make_gateway(2, rie, max_queue=3)
        async with asgi_client(gateway) as client:
            tasks = [asyncio.ensure_future(client.post(INVOKE, content=b'{"i":%d}' % i)) for i in range(5)]
            await asyncio.sleep(0.05)  # 2 in flight, 3 waiting: the queue is full
            throttled = await client.post(INVOKE, content=b"{}")
            release.set()
            return [throttled, *await asyncio.gather(*tasks)]

    throttled, *answered = asyncio.run(scenario())
    assert throttled.status_code == 429
    assert throttled.json()["errorType"] == "TooManyRequestsException"
    assert [r.status_code for r in answered] == [200] * 5
    assert [r.json()["i"] for r in answered] == list(range(5))
    assert peak == 2  # never more than one in flight per container


def test_connect_error_is_retried_on_another_container():
    async def rie(port: int, payload: bytes) -> tuple[int, bytes]:
        if port == 1000:
            raise UpstreamUnreachable("refused")
        return 200, b'{"ok":true}'

    async def scenario() -> tuple[httpx.Response, FakePool]:
        gateway, pool = make_gateway(2, rie)
        async with asgi_client(gateway) as client:
            return await client.post(INVOKE, content=b"{}"), pool

    resp, pool = asyncio.run(scenario())
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert pool.suspected == [0]


def test_container_lost_mid_invocation_is_an_unhandled_502():
    async def rie(port: int, payload: bytes) -> tuple[int, bytes]:
        raise UpstreamLost("IncompleteReadError")

    async def scenario() -> tuple[httpx.Response, FakePool]:
        gateway, pool = make_gateway(1, rie)
        async with asgi_client(gateway) as client:
            return await client.post(INVOKE, content=b"{}"), pool

    resp, pool = asyncio.run(scenario())
    assert resp.status_code == 502
    assert resp.headers["x-amz-function-error"] == "Unhandled"
    assert resp.json()["errorType"] == "lambdadev.ContainerExited"
    assert pool.suspected == [0]


def test_build_error_is_served_while_the_code_is_broken():
    async def rie(port: int, payload: bytes) -> tuple[int, bytes]:
        raise AssertionError("no invocation while the build is broken")

    async def scenario() -> httpx.Response:
        gateway, _ = make_gateway(1, rie)
        gateway.gate.open("main.go:3: syntax error")
        async with asgi_client(gateway) as client:
            return await client.post(INVOKE, content=b"{}")

    resp = asyncio.run(scenario())
    assert resp.status_code == 502 and resp.headers["x-amz-function-error"] == "Unhandled"
    assert resp.json() == {"errorType": "lambdadev.BuildError", "errorMessage": "main.go:3: syntax error"}


# ---- the RIE client, against a small server speaking like Go's net/http ----


def _serve_once(answers: list[bytes]):
    """A loopback server that reads one request per answer and writes the answer."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")).split(
                    b":"
                )[1]
            )
            requests.append(head + await reader.readexactly(length))
            if not answer:
                break
            writer.write(answer)
            await writer.drain()
        writer.close()

    return handle, requests


def test_rie_client_reads_length_and_chunked_bodies_on_one_connection():
    answers = [
        b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\n{"a":1}',
        b"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    ]

    async def scenario() -> tuple[list, list[bytes]]:
        handle, requests = _serve_once(answers)
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = RieClient(timeout=5)
        try:
            results = [await client.post(port, b'{"x":1}', "id-1"), await client.post(port, b"{}", "id-2")]
        finally:
            await client.aclose()
            server.close()
        return results, requests

    results, requests = asyncio.run(scenario())
    assert results == [(200, b'{"a":1}'), (502, b"abcdefg")]
    assert len(requests) == 2  # the second call reused the keep-alive connection
    assert requests[0].startswith(b"POST /2015-03-31/functions/function/invocations HTTP/1.1\r\n")
    assert b"X-Amzn-RequestId: id-1\r\n" in requests[0] and requests[0].endswith(b'{"x":1}')


def test_rie_client_errors():
    async def scenario() -> None:
        client = RieClient(timeout=5)
        handle, _ = _serve_once([b""])  # reads the request, then hangs up without answering
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        try:
            with pytest.raises(UpstreamUnreachable):
                await client.post(free_port(), b"{}", "r")
            with pytest.raises(UpstreamLost):
                await client.post(server.sockets[0].getsockname()[1], b"{}", "r")
        finally:
            server.close()
            await client.aclose()

    asyncio.run(scenario())
