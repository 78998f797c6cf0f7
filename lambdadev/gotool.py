"""The host's Go toolchain, when there is one, and the Go proxy settings to pass on."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from lambdadev.errors import BuildFailed, UsageError

FALLBACK_GO_VERSION = "1.26"
PROXY_VARS = ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOFLAGS")


def host_go() -> str | None:
    return shutil.which("go")


@functools.cache
def host_go_version() -> str | None:
    """``1.26`` when the host has go1.26.x, else None."""
    go = host_go()
    if go is None:
        return None
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    parts = out.strip().removeprefix("go").split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[1].isdigit() else None


def default_go_version() -> str:
    return host_go_version() or FALLBACK_GO_VERSION


@functools.cache
def proxy_settings() -> dict[str, str]:
    """The Go proxy settings in force here (environment first, then ``go env``)."""
    settings = {k: os.environ[k] for k in PROXY_VARS if os.environ.get(k)}
    go = host_go()
    if go is not None:
        try:
            out = subprocess.run([go, "env", *PROXY_VARS], capture_output=True, text=True, check=True).stdout
            for key, value in zip(PROXY_VARS, out.splitlines(), strict=False):
                if value and key not in settings:
                    settings[key] = value
        except (OSError, subprocess.CalledProcessError):
            pass
    return settings


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2])


def tidy(folder: Path, requires: tuple[str, ...], go_version: str) -> None:
    """Resolve ``go.mod``/``go.sum``: with the host's Go, or in the Go image without it."""
    host = host_go_version()
    if host is not None and _version_tuple(host) >= _version_tuple(go_version):
        _run_host(folder, requires)
        return
    if host is not None:
        raise UsageError(
            f"--go-version {go_version} is newer than this machine's Go ({host})",
            hint=f"install Go {go_version} or pass --go-version {host}",
        )
    from lambdadev.engine import Engine

    Engine().run_go(folder, go_version, _commands(requires))


def _commands(requires: tuple[str, ...]) -> list[list[str]]:
    cmds = [["go", "get", *requires]] if requires else []
    return [*cmds, ["go", "mod", "tidy"]]


def _run_host(folder: Path, requires: tuple[str, ...]) -> None:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    for cmd in _commands(requires):
        go = host_go() or "go"
        try:
            subprocess.run([go, *cmd[1:]], cwd=folder, env=env, capture_output=True, text=True, check=True)
        except subprocess.CalledProcessError as exc:
            output = (exc.stderr or exc.stdout or "").strip()
            last = output.splitlines()[-1] if output else f"exit status {exc.returncode}"
            raise BuildFailed(
                f"`{' '.join(cmd)}` failed: {last}",
                hint="check access to the Go module proxy (GOPROXY) and try again",
                log=output,
            ) from None
