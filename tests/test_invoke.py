"""``lambdadev invoke`` without Docker: event sources, the 6 MB limit, rendering, exit 3.

The real round trips (exit 0/1 against a real RIE) are in test_invoke_docker.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

from lambdadev import invoke
from lambdadev.errors import UsageError
from tests.conftest import free_port


def run(*args: str, input: bytes | None = None, cwd=None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "lambdadev", "invoke", *args],
        input=input,
        capture_output=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_event_sources(tmp_path):
    path = tmp_path / "e.json"
    path.write_bytes(b'{"a": 1}')
    assert invoke.read_event(str(path), None, None) == b'{"a": 1}'
    assert invoke.read_event(None, '{"b":2}', None) == b'{"b":2}'
    assert json.loads(invoke.read_event(None, None, "sqs"))["Records"]
    assert invoke.read_event(None, None, None) == b"{}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, "{nope", None), "not valid JSON"),
        (("/no/such/file.json", None, None), "cannot read event file"),
        (("x.json", "{}", None), "give one event"),
        ((None, None, "no-such-example"), "no sample event named"),
    ],
)
def test_bad_events_are_usage_errors(args, message):
    with pytest.raises(UsageError) as info:
        invoke.read_event(*args)
    assert message in info.value.message and info.value.exit_code == 2


def test_pretty_only_on_a_tty():
    payload = b'{"a":[1,2]}'
    assert invoke.render_payload(payload, raw=False, tty=False) == payload
    assert invoke.render_payload(payload, raw=True, tty=True) == payload
    assert invoke.render_payload(payload, raw=False, tty=True) == b'{\n  "a": [\n    1,\n    2\n  ]\n}\n'
    assert invoke.render_payload(b"plain text", raw=False, tty=True) == b"plain text"


def test_invocation_url():
    assert (
        invoke.invocation_url(9001, None) == "http://127.0.0.1:9001/2015-03-31/functions/function/invocations"
    )
    assert invoke.invocation_url(1, "http://h:2/") == "http://h:2/2015-03-31/functions/function/invocations"
    url = "http://h:2/2015-03-31/functions/x/invocations"
    assert invoke.invocation_url(1, url) == url


def test_nothing_listening_is_exit_3(tmp_path):
    result = run("--port", str(free_port()), "-d", "{}", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("lambdadev: error: nothing answers at http://127.0.0.1:")
    assert "hint: start the function with `lambdadev up`" in err


def test_over_6mb_is_exit_2_and_nothing_is_sent(tmp_path):
    accepted = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    big = b'{"data":"' + b"x" * (6 * 1024 * 1024) + b'"}'
    try:
        result = run("-", "--port", str(server.getsockname()[1]), input=big, cwd=tmp_path)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert result.returncode == 2
    assert b"over Lambda's 6 MB limit" in result.stderr and result.stderr.count(b"\n") == 2
    assert result.stdout == b""
    assert accepted == []


def test_invoke_does_not_import_docker_or_httpx():
    code = (
        "import sys\n"
        "from lambdadev import cli\n"
        "sys.argv = ['lambdadev', 'invoke', '--port', '1', '-d', '{}']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in ('docker', 'httpx', 'httpcore', 'uvicorn', 'starlette') "
        "if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert result.stdout.decode().strip() == ""
