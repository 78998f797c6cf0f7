"""Everything lambdadev prints for people goes to stderr through here.

Data (an invoke payload, an image tag) goes to stdout from ``cli.py``; this
module owns progress, logs and errors. On a TTY it uses colour and spinners;
otherwise it prints plain lines, so logs and CI output stay readable.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console


class Status(Protocol):
    def update(self, text: str) -> None: ...


class _PlainStatus:
    def __init__(self, out: _Out) -> None:
        self._out = out
        self._last = ""

    def update(self, text: str) -> None:
        if text and text != self._last:
            self._last = text
            self._out.line(text, style="dim")


class _Out:
    """A thin wrapper so that rich is imported only when something is printed."""

    def __init__(self) -> None:
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            no_color = bool(os.environ.get("NO_COLOR"))
            self._console = Console(stderr=True, highlight=False, no_color=no_color, soft_wrap=True)
        return self._console

    @property
    def is_tty(self) -> bool:
        return sys.stderr.isatty()

    def line(self, text: str, style: str | None = None) -> None:
        if self.is_tty:
            self.console.print(text, style=style, markup=False)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def info(self, text: str) -> None:
        self.line(text)

    def ok(self, text: str) -> None:
        self.line(f"✓ {text}", style="green")

    def warn(self, text: str) -> None:
        self.line(f"lambdadev: warning: {text}", style="yellow")

    def error(self, message: str, hint: str | None) -> None:
        self.line(f"lambdadev: error: {message}", style="bold red")
        if hint:
            self.line(f"hint: {hint}", style="cyan")

    def log(self, text: str) -> None:
        """A line of the function's own output, passed through unchanged."""
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[Status]:
        """A spinner on a TTY; plain progress lines otherwise."""
        if self.is_tty:
            with self.console.status(text) as st:

                class _Rich:
                    def update(self, t: str) -> None:
                        st.update(f"{text} · {t}" if t else text)

                yield _Rich()
        else:
            self.line(text)
            yield _PlainStatus(self)


out = _Out()
