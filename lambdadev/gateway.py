"""The HTTP front of ``lambdadev up``.

It owns the port users call, as one raw ASGI app served by uvicorn:

* ``POST /2015-03-31/functions/<name>/invocations`` (RIE's own path, so the
  seed's curl works unchanged) is passed to an idle RIE container of the pool,
  one invocation per container at a time (RIE crashes on two overlapping
  ones). Requests beyond the idle containers wait in a FIFO queue; past
  ``max_queue`` waiting requests the caller gets Lambda's throttling answer
  (429 ``TooManyRequestsException``). The answer carries
  ``X-Amz-Executed-Version``, ``X-Amzn-RequestId`` (the id RIE logs) and, on
  a function error or timeout, ``X-Amz-Function-Error: Unhandled``.
* Every other path and method is a function URL: the request becomes a
  payload-format-2.0 event and the function's answer is mapped back to HTTP
  (:func:`url_event`, :func:`url_response`).

While a reload is in progress requests wait at the gate; while the code does
not compile they are answered with the build error.

Raw ASGI on uvicorn rather than a framework's request/response objects, and
aiohttp rather than httpx for the calls to RIE (see :class:`RieClient`): the
invoke path is the hot path and the gateway should add well under a
millisecond to it (``bench/invoke`` measures this).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

import aiohttp

from lambdadev.pool import Pool
from lambdadev.rie import INVOKE_PATH, TIMED_OUT, is_function_error

# Requests allowed to wait for a container (beyond those being served) before
# the gateway answers 429, as Lambda does when a function is throttled.
MAX_QUEUE = 1000
# Lambda's limit for a synchronous request (and response) payload.
MAX_PAYLOAD = 6 * 1024 * 1024
INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"
# Content types whose bodies a function URL passes as text; everything else is base64.
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
    "application/yaml",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")


class Gate:
    """Holds requests while a reload runs; carries the build error while the code is broken."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self.build_error: str | None = None

    def close(self) -> None:
        self._open.clear()

    def open(self, build_error: str | None = None) -> None:
        self.build_error = build_error
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def wait(self) -> str | None:
        await self._open.wait()
        return self.build_error


@dataclass(frozen=True)
class Outcome:
    """One invocation's answer: RIE's status and body, and whether the function failed."""

    status: int
    body: bytes
    function_error: bool
    request_id: str


def error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def build_error_body(message: str) -> bytes:
    return error_body("lambdadev.BuildError", message)


class Throttled(Exception):
    """More than ``max_queue`` requests are waiting for a container."""


class Gateway:
    """The ASGI app of ``up``: ``gateway.app`` is what uvicorn serves."""

    def __init__(
        self,
        pool: Pool,
        gate: Gate,
        *,
        timeout: float,
        version: str = "$LATEST",
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.pool = pool
        self.gate = gate
        self.version = version
        self.version_header = (b"x-amz-executed-version", version.encode())
        self.max_queue = max_queue
        self.waiting = 0
        self.upstream: Upstream = RieClient(timeout=timeout + 10.0)
        self.app = self

    # ---- the pool, one invocation at a time per container ----

    async def invoke(self, payload: bytes, request_id: str | None = None) -> Outcome:
        """One invocation through the pool (waits at the gate and for an idle container).

        Raises :class:`Throttled` when ``max_queue`` requests already wait.
        """
        request_id = request_id or str(uuid.uuid4())
        if self.waiting >= self.max_queue:
            raise Throttled()
        build_error = await self.gate.wait()
        if build_error is not None:
            return Outcome(502, build_error_body(build_error), True, request_id)
        for _attempt in range(3):
            self.waiting += 1
            acquired = False
            try:
                async with self.pool.worker() as worker:
                    self.waiting -= 1
                    acquired = True
                    try:
                        status, body = await self.upstream.post(worker.port, payload, request_id)
                    except UpstreamUnreachable:
                        # nothing was delivered: the container is gone or going; try another one
                        self.pool.suspect(worker)
                        continue
                    except UpstreamTimeout:
                        self.pool.discard(worker, "did not answer within the function timeout")
                        return Outcome(
                            504,
                            error_body(
                                "lambdadev.ContainerTimeout",
                                f"RequestId: {request_id} Error: the container did not answer in time; "
                                "it is being replaced",
                            ),
                            True,
                            request_id,
                        )
                    except UpstreamLost as exc:
                        self.pool.suspect(worker)
                        return Outcome(
                            502,
                            error_body(
                                "lambdadev.ContainerExited",
                                f"RequestId: {request_id} Error: the container stopped during the "
                                f"invocation ({exc}); it is being replaced",
                            ),
                            True,
                            request_id,
                        )
            finally:
                if not acquired:
                    self.waiting -= 1
            if body.startswith(TIMED_OUT):
                text = body.decode(errors="replace")
                body = error_body("Sandbox.Timedout", f"RequestId: {request_id} Error: {text}")
                return Outcome(status, body, True, request_id)
            return Outcome(status, body, is_function_error(status, body), request_id)
        return Outcome(
            502,
            error_body(
                "lambdadev.ContainerExited",
                f"RequestId: {request_id} Error: no container could take the invocation",
            ),
            True,
            request_id,
        )

    # ---- ASGI ----

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX):
            await self.raw_invoke(receive, send)
        else:
            await self.function_url(scope, receive, send)

    async def raw_invoke(self, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if body is None:
            await respond(
                send,
                413,
                error_body(
                    "RequestEntityTooLargeException",
                    f"Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation",
                ),
                [JSON_TYPE],
            )
            return
        try:
            outcome = await self.invoke(body)
        except Throttled:
            headers = [JSON_TYPE, (b"x-amzn-errortype", b"TooManyRequestsException")]
            await respond(send, 429, throttled_body(self.max_queue), headers)
            return
        headers = [JSON_TYPE, self.version_header, (b"x-amzn-requestid", outcome.request_id.encode())]
        if outcome.function_error:
            headers.append((b"x-amz-function-error", b"Unhandled"))
        # Lambda answers a function error with 200 too; RIE's 502 (panic, exit) and our own
        # container errors keep their status so that curl users see something went wrong.
        await respond(send, outcome.status, outcome.body, headers)

    async def function_url(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if body is None:
            await respond(send, 413, b"Request Entity Too Large", [(b"content-type", b"text/plain")])
            return
        request_id = str(uuid.uuid4())
        event = url_event(scope, body, request_id)
        try:
            outcome = await self.invoke(json.dumps(event, separators=(",", ":")).encode(), request_id)
        except Throttled:
            await respond(send, 429, throttled_body(self.max_queue), [JSON_TYPE])
            return
        status, headers, content = url_response(outcome)
        headers.append((b"x-amzn-requestid", request_id.encode()))
        await respond(send, status, content, headers)

    async def aclose(self) -> None:
        await self.upstream.aclose()


# ---- the upstream: RIE's HTTP/1.1 on each container's published loopback port ----


class UpstreamError(Exception):
    """A transport failure talking to a container."""


class UpstreamUnreachable(UpstreamError):
    """No connection could be made: nothing was delivered."""


class UpstreamTimeout(UpstreamError):
    """The container did not answer within the timeout."""


class UpstreamLost(UpstreamError):
    """The connection broke after the request was (maybe) delivered."""


class Upstream(Protocol):
    async def post(self, port: int, payload: bytes, request_id: str) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class RieClient:
    """RIE's HTTP/1.1 on each container's published loopback port, through aiohttp.

    One keep-alive connection pool for all containers. Chosen on measurement
    (``bench/invoke`` and a same-run harness against one local keep-alive
    server): aiohttp's ``ClientSession`` costs about 0.11 ms a call, httpcore's
    pool 0.4 ms and httpx's ``AsyncClient`` 0.56-0.73 ms, most of the
    gateway's 1 ms budget.
    """

    def __init__(self, timeout: float, connect_timeout: float = 5.0) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, force_close=False, enable_cleanup_closed=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(self, port: int, payload: bytes, request_id: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{port}{INVOKE_PATH}"
        headers = {"Content-Type": "application/json", "X-Amzn-RequestId": request_id}
        try:
            async with self._client().post(url, data=payload, headers=headers) as resp:
                return resp.status, await resp.read()
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachable(str(exc.os_error) or type(exc).__name__) from None
        except TimeoutError:
            raise UpstreamTimeout("no answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamLost(type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def throttled_body(max_queue: int = MAX_QUEUE) -> bytes:
    return json.dumps(
        {
            "Type": "User",
            "message": f"Rate Exceeded: more than {max_queue} requests are waiting for a container",
            "errorType": "TooManyRequestsException",
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        }
    ).encode()


async def read_body(receive: Receive, limit: int = MAX_PAYLOAD) -> bytes | None:
    """The request body, or None when it is larger than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---- function URLs: payload format 2.0 ----


def is_text(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(("+json", "+xml"))


def url_event(scope: Scope, body: bytes, request_id: str, now: float | None = None) -> dict[str, Any]:
    """The payload-format-2.0 event a function URL would send for this request
    (aws-lambda-go ``events.LambdaFunctionURLRequest``)."""
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif name in headers:
            headers[name] += "," + value
        else:
            headers[name] = value
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = query[key] + "," + value if key in query else value
    client = scope.get("client") or ("127.0.0.1", 0)
    server = scope.get("server") or ("127.0.0.1", 9000)
    domain = headers.get("host") or f"{server[0]}:{server[1]}"
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": "anonymous",
        "apiId": "lambdadev",
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": scope["method"],
            "path": path,
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "sourceIp": client[0],
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if body:
        text = is_text(headers.get("content-type", "text/plain"))
        if text:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                text = False
        if not text:
            event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    return event


INTERNAL_ERROR = (502, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error")


def url_response(outcome: Outcome) -> tuple[int, Headers, bytes]:
    """Map the function's answer back to HTTP the way a function URL does.

    A function error is a 502 ``Internal Server Error``; a JSON object with
    ``statusCode`` is a response (``headers``, ``cookies`` → ``set-cookie``,
    ``body``, ``isBase64Encoded``); any other valid JSON is the body of a 200
    ``application/json`` response.
    """
    if outcome.function_error or outcome.status != 200:
        return INTERNAL_ERROR[0], list(INTERNAL_ERROR[1]), INTERNAL_ERROR[2]
    try:
        data = json.loads(outcome.body)
    except ValueError:
        return INTERNAL_ERROR[0], list(INTERNAL_ERROR[1]), INTERNAL_ERROR[2]
    if not isinstance(data, dict) or "statusCode" not in data:
        return 200, [JSON_TYPE], outcome.body
    try:
        status = int(data["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError(status)
        headers: Headers = [
            (str(k).lower().encode("latin-1"), _header_value(v).encode("latin-1"))
            for k, v in (data.get("headers") or {}).items()
        ]
        headers.extend((b"set-cookie", str(c).encode("latin-1")) for c in data.get("cookies") or [])
        body = data.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        content = base64.b64decode(body, validate=True) if data.get("isBase64Encoded") else body.encode()
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeEncodeError):
        return INTERNAL_ERROR[0], list(INTERNAL_ERROR[1]), INTERNAL_ERROR[2]
    if not any(name == b"content-type" for name, _ in headers):
        headers.append(JSON_TYPE)  # what a function URL sends when the function names no type
    return status, headers, content


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
