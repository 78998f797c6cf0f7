"""What the Runtime Interface Emulator speaks: its port, its path, what its answers mean.

Pure data and functions (no I/O), shared by the gateway and the ``invoke`` client.
"""

from __future__ import annotations

import json

RIE_PORT = 8080
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
TIMED_OUT = b"Task timed out after"
ERROR_KEYS = frozenset({"errorMessage", "errorType", "stackTrace", "requestId", "cause"})


def is_function_error(status: int, body: bytes) -> bool:
    """RIE has no X-Amz-Function-Error header: a handler error is 200 + an error object,
    a panic or exit is 502, a timeout is 200 + plain text."""
    if status >= 500 or body.startswith(TIMED_OUT):
        return True
    if not body.startswith(b"{") or b'"errorMessage"' not in body:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "errorMessage" in data and set(data) <= ERROR_KEYS
