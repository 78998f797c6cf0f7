"""The sample event catalog: realistic events as AWS sends them to a Go function.

The data lives in ``lambdadev/catalog/``: one ``<name>.json`` per sample and
``index.toml``, which gives each name a one-line description and the
aws-lambda-go ``events`` type it decodes to. ``tests/go/eventscheck`` decodes
every sample into that type, so the two cannot drift apart unnoticed.

Stdlib only, so ``lambdadev events list`` stays fast.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from lambdadev.errors import UsageError

__all__ = ["SampleEvent", "catalog", "load"]


@dataclass(frozen=True)
class SampleEvent:
    """One entry of the catalog."""

    name: str
    description: str
    go_type: str


def _catalog_dir() -> Traversable:
    return resources.files("lambdadev") / "catalog"


@functools.cache
def _index() -> dict[str, SampleEvent]:
    with (_catalog_dir() / "index.toml").open("rb") as f:
        data = tomllib.load(f)
    entries = data.get("events")
    if not isinstance(entries, dict):
        raise RuntimeError("lambdadev/catalog/index.toml has no [events.<name>] tables")
    index: dict[str, SampleEvent] = {}
    for name, entry in entries.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("description"), str)
            and isinstance(entry.get("go_type"), str)
        ):
            raise RuntimeError(f"lambdadev/catalog/index.toml: [events.{name}] needs description and go_type")
        index[name] = SampleEvent(name=name, description=entry["description"], go_type=entry["go_type"])
    return index


def catalog() -> list[SampleEvent]:
    """Every sample event, sorted by name."""
    return sorted(_index().values(), key=lambda event: event.name)


def load(name: str) -> bytes:
    """The raw JSON bytes of sample ``name``, exactly as stored.

    Raises ``UsageError`` (exit 2) for a name that is not in the catalog.
    """
    index = _index()
    if name not in index:
        raise UsageError(f"no sample event named {name!r}", _hint(name, sorted(index)))
    return (_catalog_dir() / f"{name}.json").read_bytes()


def _hint(name: str, names: list[str]) -> str:
    """Suggest close names: substrings first ("s3" -> both S3 samples), then difflib."""
    key = name.strip().lower()  # "SQS" still suggests "sqs"
    contains = [n for n in names if key and key in n]
    fuzzy = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    matches = list(dict.fromkeys(contains + fuzzy))[:3]
    see_all = "`lambdadev events list` shows all sample events."
    if not matches:
        return see_all
    return f"Did you mean {' or '.join(repr(m) for m in matches)}? {see_all}"
