"""``lambdadev invoke``: send one event to a running function and print its payload.

This is the only client-side user of httpx (and only for ``https://`` URLs),
and it imports nothing it does not need (no Docker SDK, no httpx for the
usual loopback call): an invoke should finish in well under 0.3 s.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lambdadev.errors import EXIT_FUNCTION_ERROR, EXIT_OK, EnvironmentProblem, UsageError
from lambdadev.rie import INVOKE_PATH, is_function_error

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation limit (request and response)


@dataclass(frozen=True)
class Result:
    status: int
    payload: bytes
    function_error: bool
    request_id: str | None
    duration: float


def read_event(event_file: str | None, data: str | None, example: str | None) -> bytes:
    """The event bytes from exactly one source, checked to be JSON before anything is sent."""
    sources = [s for s in (event_file, data, example) if s is not None]
    if len(sources) > 1:
        raise UsageError("give one event: EVENT_FILE, --data or --example", hint="drop all but one of them")
    if data is not None:
        raw, origin = data.encode(), "--data"
    elif example is not None:
        from lambdadev import events

        raw, origin = events.load(example), f"example {example}"
    elif event_file == "-":
        raw, origin = sys.stdin.buffer.read(), "stdin"
    elif event_file is not None:
        path = Path(event_file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"cannot read event file {event_file}: {exc.strerror}",
                hint="give a path to a JSON file, `-` for stdin, or --data '{…}'",
            ) from None
        origin = event_file
    else:
        raw, origin = b"{}", "default"
    if len(raw) > MAX_PAYLOAD:
        raise UsageError(
            f"the event is {len(raw)} bytes, over Lambda's 6 MB limit for synchronous invocations",
            hint="send a smaller event, or a reference (an S3 key) instead of the data",
        )
    try:
        json.loads(raw or b"null")
    except ValueError as exc:
        raise UsageError(
            f"the event from {origin} is not valid JSON: {exc}",
            hint="check the JSON, e.g. with `python -m json.tool`",
        ) from None
    return raw or b"{}"


def invocation_url(port: int, url: str | None, host: str = "127.0.0.1") -> str:
    if url is None:
        return f"http://{host}:{port}{INVOKE_PATH}"
    return url if "/2015-03-31/" in url else url.rstrip("/") + INVOKE_PATH


def send(url: str, payload: bytes, timeout: float = 900.0) -> Result:
    """POST the event; plain ``http://`` goes through the standard library.

    ``http.client`` imports in a few milliseconds where httpx (with httpcore,
    and trio when it is installed) costs well over 100 ms, a third of the
    time budget of an invoke; httpx is only loaded for an ``https://`` URL.
    """
    started = time.perf_counter()
    if url.startswith("http://"):
        status, headers, body = _post_stdlib(url, payload, timeout)
    else:
        status, headers, body = _post_httpx(url, payload, timeout)
    duration = time.perf_counter() - started
    function_error = bool(headers.get("x-amz-function-error")) or is_function_error(status, body)
    return Result(
        status=status,
        payload=body,
        function_error=function_error,
        request_id=headers.get("x-amzn-requestid"),
        duration=duration,
    )


def _unreachable(url: str) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"nothing answers at {url}",
        hint="start the function with `lambdadev up` (in another terminal), or pass --port/--url",
    )


def _post_stdlib(url: str, payload: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=3.0)
        conn.connect()
    except OSError:
        raise _unreachable(url) from None
    try:
        assert conn.sock is not None
        conn.sock.settimeout(timeout)
        conn.request("POST", path or "/", body=payload, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise EnvironmentProblem(
            f"the invocation at {url} failed: {exc or type(exc).__name__}",
            hint="is `lambdadev up` still running?",
        ) from None
    finally:
        conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def _post_httpx(url: str, payload: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
    import httpx

    try:
        resp = httpx.post(url, content=payload, timeout=httpx.Timeout(timeout, connect=3.0))
    except httpx.ConnectError:
        raise _unreachable(url) from None
    except httpx.TransportError as exc:
        raise EnvironmentProblem(
            f"the invocation at {url} failed: {exc}", hint="is `lambdadev up` still running?"
        ) from None
    return resp.status_code, dict(resp.headers), resp.content


def render_payload(payload: bytes, raw: bool, tty: bool) -> bytes:
    """Pretty JSON on a TTY; unchanged bytes with --raw or when piped."""
    if raw or not tty:
        return payload
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False).encode() + b"\n"
    except ValueError:
        return payload


def exit_code(result: Result) -> int:
    return EXIT_FUNCTION_ERROR if result.function_error else EXIT_OK
