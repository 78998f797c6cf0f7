"""``lambdadev invoke`` against a real ``up`` of the probe: streams and exit codes.

Exit 0 (payload on stdout, status/duration/request id on stderr), 1 (function
error, panic, timeout), pretty JSON on a TTY only; exit 2 and 3 without an
engine are in test_invoke.py.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from lambdadev import events
from tests.conftest import Up, lambdadev_env, run_lambdadev

pytestmark = pytest.mark.docker
STATUS_RE = re.compile(r"^(ok|function error) · HTTP (\d+) · [\d.]+ ms · request [0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def up(probe_up: Up) -> Up:
    return probe_up


def invoke(up: Up, *args: str, input: bytes | None = None, cwd=None) -> subprocess.CompletedProcess[bytes]:
    return run_lambdadev("invoke", "--port", str(up.port), *args, cwd=cwd or up.project.parent, input=input)


def status_line(result: subprocess.CompletedProcess[bytes]) -> re.Match[str]:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    match = STATUS_RE.match(lines[0])
    assert match, lines[0]
    return match


def test_data_exit_0_payload_unchanged_when_piped(up):
    result = invoke(up, "-d", '{"n": 5}')
    assert result.returncode == 0
    payload = json.loads(result.stdout)
    assert payload["n"] == 5 and payload["event"] == {"n": 5}
    assert result.stdout == result.stdout.strip()  # exactly the function's bytes: no pretty-printing
    assert status_line(result).group(1, 2) == ("ok", "200")


def test_event_file_stdin_and_example(up, tmp_path):
    path = tmp_path / "event.json"
    path.write_text('{"n": 6}')
    assert json.loads(invoke(up, str(path)).stdout)["n"] == 6
    assert json.loads(invoke(up, "-", input=b'{"n": 7}').stdout)["n"] == 7
    result = invoke(up, "--example", "sqs")
    assert result.returncode == 0
    assert json.loads(result.stdout)["event"] == json.loads(events.load("sqs"))


@pytest.mark.parametrize(
    ("event", "error_type", "status"),
    [
        ({"action": "error"}, "errorString", "200"),
        ({"action": "panic"}, "string", "502"),
        ({"action": "sleep", "ms": 4000}, "Sandbox.Timedout", "200"),
    ],
    ids=["error", "panic", "timeout"],
)
def test_function_errors_exit_1_with_the_error_on_stdout(up, event, error_type, status):
    result = invoke(up, "-d", json.dumps(event))
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == error_type
    assert status_line(result).group(1, 2) == ("function error", status)


def test_port_from_the_function_folder(up):
    env = lambdadev_env("scratch", LAMBDADEV_PORT=str(up.port))
    result = run_lambdadev("invoke", "-d", '{"n": 8}', cwd=up.project, env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["n"] == 8


def test_pretty_json_on_a_tty(up):
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.execvpe(
            sys.executable,
            [sys.executable, "-m", "lambdadev", "invoke", "--port", str(up.port), "-d", '{"n": 9}'],
            {**os.environ, "NO_COLOR": "1"},
        )
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert '\n  "host": ' in text and '\n  "n": 9\n}\n' in text
    assert not text.endswith("\n\n")
