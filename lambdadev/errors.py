"""The errors lambdadev reports, each with a one-line hint and an exit code.

Exit codes (documented in docs/commands.md):
0 success, 1 the function returned an error, 2 bad usage or bad input,
3 environment problem (no Docker, port busy, build failed).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FUNCTION_ERROR = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


class LambdadevError(Exception):
    """An error shown to the user as ``lambdadev: error: …`` then ``hint: …``."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(LambdadevError):
    """Bad flags, bad names, bad event files: exit 2."""

    exit_code = EXIT_USAGE


class EnvironmentProblem(LambdadevError):
    """Docker unreachable, port busy, nothing listening: exit 3."""

    exit_code = EXIT_ENVIRONMENT


class BuildFailed(LambdadevError):
    """``docker build`` or ``go build`` failed: exit 3; ``log`` holds the tool's output."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, message: str, hint: str | None = None, log: str = "") -> None:
        super().__init__(message, hint)
        self.log = log
