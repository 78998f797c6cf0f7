"""Flags + ``LAMBDADEV_*`` environment + ``lambdadev.toml`` → one frozen settings object.

Precedence, resolved once: command-line flag > environment variable >
``lambdadev.toml`` > built-in default.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lambdadev.errors import UsageError

CONFIG_FILE = "lambdadev.toml"
ENV_PREFIX = "LAMBDADEV_"

DEFAULTS: dict[str, Any] = {
    "template": "hello",
    "base": "al2023",
    "arch": "x86_64",
    "port": 9000,
    "host": "127.0.0.1",
    "concurrency": 1,
    "timeout": 10,
    "memory": 128,
    "watch": [],
    "env_file": None,
}
INT_KEYS = ("port", "concurrency", "timeout", "memory")
STR_KEYS = ("name", "template", "base", "arch", "host", "env_file")
BUILDERS = ("auto", "host", "container")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about the function it works on."""

    root: Path
    name: str
    template: str
    base: str
    arch: str
    port: int
    host: str
    concurrency: int
    timeout: int
    memory: int
    watch: tuple[str, ...] = ()
    env_file: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    build_args: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    builder: str = "auto"  # [build] builder / LAMBDADEV_BUILDER: auto | host | container (hot reload)

    @property
    def project_id(self) -> str:
        """Stable per folder: two functions with the same name never share containers."""
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:8]
        return f"{self.name}-{digest}"

    def image_tag(self, target: str) -> str:
        return f"lambdadev/{self.name}:{target}"


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds ``lambdadev.toml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise UsageError(
        f"not inside a function folder: no {CONFIG_FILE} in {start} or any folder above it",
        hint="cd into a folder made by `lambdadev new NAME`, or create one with `lambdadev new hello`",
    )


def parse_pairs(pairs: Iterable[str], what: str) -> dict[str, str]:
    """``["K=V", …]`` → dict; a pair without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {pair!r} is not KEY=VALUE", hint=f"write it as {what} NAME=value")
        result[key.strip()] = value
    return result


def _read_file(root: Path) -> dict[str, Any]:
    path = root / CONFIG_FILE
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{path} is not valid TOML: {exc}", hint="fix the file or run `lambdadev new` again"
        ) from exc


def _coerce(key: str, value: Any, source: str) -> Any:
    if key in INT_KEYS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"{key} must be a whole number, got {value!r} ({source})") from None
        if number < (0 if key == "port" else 1) or (key == "port" and number > 65535):
            raise UsageError(f"{key} {number} is out of range ({source})")
        return number
    if key == "watch":
        if isinstance(value, str):
            return tuple(v for v in value.replace(",", " ").split() if v)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"watch must be a list of globs ({source})")
        return tuple(value)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key} must be a string, got {value!r} ({source})")
    return value


def _str_table(table: Any, what: str) -> dict[str, str]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise UsageError(f"[{what}] in {CONFIG_FILE} must be a table of NAME = value")
    return {str(k): str(v) for k, v in table.items()}


def resolve(
    start: Path,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_pairs: Iterable[str] = (),
    build_arg_pairs: Iterable[str] = (),
) -> Settings:
    """Find the function folder from ``start`` and resolve its settings once."""
    environ = os.environ if environ is None else environ
    root = find_root(start)
    data = _read_file(root)
    values: dict[str, Any] = {}
    for key in (*STR_KEYS, *INT_KEYS, "watch"):
        value: Any = DEFAULTS.get(key)
        source = "default"
        if key in data:
            value, source = data[key], CONFIG_FILE
        env_value = environ.get(ENV_PREFIX + key.upper())
        if env_value:
            value, source = env_value, ENV_PREFIX + key.upper()
        flag = (flags or {}).get(key)
        if flag is not None:
            value, source = flag, f"--{key.replace('_', '-')}"
        values[key] = _coerce(key, value, source)
    if not values.get("name"):
        values["name"] = root.name
    build = data.get("build", {})
    build_args = _str_table(build.get("args") if isinstance(build, dict) else None, "build.args")
    build_args.update(parse_pairs(environ.get(ENV_PREFIX + "BUILD_ARGS", "").split(), "LAMBDADEV_BUILD_ARGS"))
    build_args.update(parse_pairs(build_arg_pairs, "--build-arg"))
    builder = str(
        environ.get(ENV_PREFIX + "BUILDER")
        or (build.get("builder") if isinstance(build, dict) else None)
        or "auto"
    )
    if builder not in BUILDERS:
        raise UsageError(
            f"unknown builder {builder!r} ([build] builder or LAMBDADEV_BUILDER)",
            hint=f"choose one of: {', '.join(BUILDERS)}",
        )
    env = _str_table(data.get("env"), "env")
    env_file = values.pop("env_file")
    env_path = (root / env_file) if env_file else None
    if env_path is not None:
        env.update(read_env_file(env_path))
    env.update(parse_pairs(env_pairs, "--env"))
    return Settings(
        root=root,
        env_file=env_path,
        env=MappingProxyType(env),
        build_args=MappingProxyType(build_args),
        builder=builder,
        **values,
    )


def read_env_file(path: Path) -> dict[str, str]:
    """dotenv syntax: ``KEY=value``, ``export KEY=value``, quotes, ``#`` comments."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(
            f"cannot read env file {path}: {exc.strerror}", hint="check the --env-file path"
        ) from None
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "a").isalnum():
            # never echo the line: it may hold a secret
            raise UsageError(f"{path}:{number}: not a KEY=value line", hint="dotenv syntax: NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key] = value
    return env
