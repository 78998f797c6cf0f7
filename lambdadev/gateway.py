"""The HTTP front of ``lambdadev up``.

It owns the port users call. ``POST /2015-03-31/functions/<name>/invocations``
(RIE's own path, so the seed's curl works unchanged) is passed to an idle RIE
container of the pool, one invocation per container at a time. While a reload
is in progress requests wait at the gate; while the code does not compile
they are answered with the build error.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lambdadev.pool import Pool
from lambdadev.rie import is_function_error

MAX_QUEUE = 1000


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
    status: int
    body: bytes
    function_error: bool


def build_error_body(message: str) -> bytes:
    return json.dumps({"errorType": "lambdadev.BuildError", "errorMessage": message}).encode()


class Gateway:
    def __init__(self, pool: Pool, gate: Gate, *, timeout: float, version: str = "$LATEST") -> None:
        self.pool = pool
        self.gate = gate
        self.version = version
        self.waiting = 0
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout + 10.0, connect=5.0))
        self.app = Starlette(
            routes=[
                Route(
                    "/2015-03-31/functions/{function}/invocations",
                    self.raw_invoke,
                    methods=["POST", "GET", "PUT"],
                ),
            ]
        )

    async def invoke(self, payload: bytes) -> Outcome:
        """One invocation through the pool (waits at the gate and for an idle container)."""
        build_error = await self.gate.wait()
        if build_error is not None:
            return Outcome(502, build_error_body(build_error), True)
        self.waiting += 1
        acquired = False
        try:
            async with self.pool.worker() as worker:
                self.waiting -= 1
                acquired = True
                try:
                    resp = await self.client.post(worker.url, content=payload)
                except httpx.TransportError as exc:
                    body = json.dumps(
                        {
                            "errorType": "lambdadev.ContainerError",
                            "errorMessage": f"the RIE container failed: {exc}",
                        }
                    )
                    return Outcome(502, body.encode(), True)
        finally:
            if not acquired:
                self.waiting -= 1
        return Outcome(resp.status_code, resp.content, is_function_error(resp.status_code, resp.content))

    async def raw_invoke(self, request: Request) -> Response:
        if self.waiting >= MAX_QUEUE:
            return JSONResponse(
                {"Type": "User", "message": "Rate Exceeded.", "errorType": "TooManyRequestsException"},
                status_code=429,
            )
        outcome = await self.invoke(await request.body())
        headers = {"X-Amz-Executed-Version": self.version}
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        status = 200 if outcome.status == 200 else outcome.status
        return Response(outcome.body, status_code=status, headers=headers, media_type="application/json")

    async def aclose(self) -> None:
        await self.client.aclose()
