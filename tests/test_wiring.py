"""Fast unit tests of pure wiring: RIE's answers, log folding, event reading, the error funnel."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lambdadev.errors import UsageError
from lambdadev.invoke import invocation_url, read_event, render_payload
from lambdadev.rie import is_function_error
from lambdadev.up import format_log


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"statusCode":200,"body":"hi"}', False),
        (200, b'{"errorMessage":"boom","errorType":"errorString"}', True),
        (200, b'{"errorMessage":"in a payload","user":1}', False),
        (502, b'{"errorMessage":"panic","errorType":"Runtime.ExitError"}', True),
        (200, b"Task timed out after 3.00 seconds", True),
        (200, b'"just a string"', False),
    ],
)
def test_function_error_rules(status, body, expected):
    assert is_function_error(status, body) is expected


def test_report_lines_fold_into_one():
    assert format_log(0, "START RequestId: abc Version: $LATEST") is None
    assert format_log(0, "END RequestId: abc") is None
    assert format_log(0, "04 Dec 2026 19:53:46,885 [INFO] (rapid) exec '/var/task/bootstrap'") is None
    line = format_log(
        0,
        "REPORT RequestId: 0123456789\tInit Duration: 0.73 ms\tDuration: 6.82 ms\t"
        "Billed Duration: 7 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t",
    )
    assert line == "λ 01234567 6.82 ms (billed 7 ms, init 0.73 ms)"
    assert format_log(0, "my own log line") == "my own log line"


def test_read_event_sources(tmp_path):
    event = tmp_path / "e.json"
    event.write_text('{"a": 1}')
    assert read_event(str(event), None, None) == b'{"a": 1}'
    assert read_event(None, '{"b":2}', None) == b'{"b":2}'
    assert read_event(None, None, None) == b"{}"
    with pytest.raises(UsageError, match="not valid JSON"):
        read_event(None, "{nope", None)
    with pytest.raises(UsageError, match="one event"):
        read_event(str(event), "{}", None)
    with pytest.raises(UsageError, match="cannot read"):
        read_event(str(tmp_path / "missing.json"), None, None)


def test_invocation_url():
    assert invocation_url(9000, None) == "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
    assert invocation_url(1, "http://h:2") == "http://h:2/2015-03-31/functions/function/invocations"
    assert invocation_url(1, "http://h:2/2015-03-31/functions/x/invocations").endswith("/x/invocations")


def test_payload_is_pretty_only_on_a_tty():
    assert render_payload(b'{"a":1}', raw=False, tty=False) == b'{"a":1}'
    assert render_payload(b'{"a":1}', raw=True, tty=True) == b'{"a":1}'
    assert render_payload(b'{"a":1}', raw=False, tty=True) == b'{\n  "a": 1\n}\n'


def test_error_funnel_one_line_and_hint(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lambdadev", "new", "../escape"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("lambdadev: error: invalid function name")
    assert lines[1].startswith("hint: ")
    assert list(tmp_path.iterdir()) == []


def test_version_and_help():
    version = subprocess.run([sys.executable, "-m", "lambdadev", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("lambdadev ")
    for command in ("new", "build", "up", "invoke", "down", "events"):
        result = subprocess.run(
            [sys.executable, "-m", "lambdadev", command, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0, command
        assert "Example" in result.stdout or command == "events", command
