"""Function URLs end to end: real HTTP in, payload format 2.0 to a real Go function, its answer mapped back.

The probe (tests/functions/probe) echoes the event it received as JSON, so the
tests see exactly what a Go handler decoded with aws-lambda-go's
``events.LambdaFunctionURLRequest``.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import Up

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def up(probe_up: Up) -> Up:
    return probe_up


def test_get_with_query_cookies_and_repeated_headers(up):
    started = time.time()
    resp = httpx.get(
        up.url + "/hello/world?name=Gopher&lang=en&lang=fr&empty=",
        headers=[("Cookie", "session=abc; theme=dark"), ("X-Multi", "a"), ("X-Multi", "b")],
        timeout=30,
    )
    assert resp.status_code == 201
    assert resp.headers["x-probe"] == "yes"
    assert resp.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    event = resp.json()
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/hello/world"
    assert event["rawQueryString"] == "name=Gopher&lang=en&lang=fr&empty="
    assert event["queryStringParameters"] == {"name": "Gopher", "lang": "en,fr", "empty": ""}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-multi"] == "a,b"
    assert "cookie" not in event["headers"]
    assert "body" not in event and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["http"]["method"] == "GET" and ctx["http"]["path"] == "/hello/world"
    assert ctx["http"]["sourceIp"] == "127.0.0.1" and ctx["http"]["protocol"] == "HTTP/1.1"
    assert ctx["http"]["userAgent"].startswith("python-httpx/")
    assert ctx["requestId"] == resp.headers["x-amzn-requestid"]
    assert ctx["domainName"] == f"127.0.0.1:{up.port}"
    assert started - 1 <= ctx["timeEpoch"] / 1000 <= time.time() + 1
    assert time.strftime("/%Y:", time.gmtime(ctx["timeEpoch"] / 1000)) in ctx["time"]


def test_post_json_body_arrives_as_text(up):
    resp = httpx.post(up.url + "/orders", json={"item": "gopher", "qty": 2}, timeout=30)
    assert resp.status_code == 201
    event = resp.json()
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"item":"gopher","qty":2}'
    assert event["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_method_reaches_the_function(up, method):
    resp = httpx.request(method, up.url + "/thing/1", timeout=30)
    assert resp.status_code == 201 and resp.json()["requestContext"]["http"]["method"] == method


def test_binary_body_is_base64_both_ways(up):
    data = bytes(range(256)) * 4
    resp = httpx.post(
        up.url + "/binary", content=data, headers={"content-type": "application/octet-stream"}, timeout=30
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.content == data[::-1]


def test_response_without_status_code_is_200_json(up):
    resp = httpx.get(up.url + "/nostatus", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"hello": "world", "path": "/nostatus"}


@pytest.mark.parametrize("code", [204, 404, 503])
def test_status_codes_pass_through(up, code):
    resp = httpx.get(up.url + f"/status?code={code}", timeout=30)
    assert resp.status_code == code


@pytest.mark.parametrize("path", ["/error", "/panic"])
def test_handler_error_is_502_and_the_next_request_succeeds(up, path):
    resp = httpx.get(up.url + path, timeout=30)
    assert resp.status_code == 502
    assert resp.text == "Internal Server Error"
    assert "x-amz-function-error" not in resp.headers
    assert httpx.get(up.url + "/nostatus", timeout=30).status_code == 200
