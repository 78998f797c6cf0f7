"""Unit tests of what triggers a reload (lambdadev/watch.py), and one run of the real watcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lambdadev.watch import STEP_MS, ChangeSet, SourceFilter, is_temp, watch


@pytest.fixture
def source(tmp_path: Path) -> SourceFilter:
    return SourceFilter(tmp_path, globs=("templates/*.html",), env_file=tmp_path / "dev.env")


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("main.go", "source"),
        ("internal/handler/handler.go", "source"),
        ("go.mod", "source"),
        ("go.sum", "source"),
        ("templates/page.html", "source"),
        ("Dockerfile", "config"),
        ("lambdadev.toml", "config"),
        (".dockerignore", "config"),
        ("dev.env", "config"),
        ("README.md", None),
        ("events/hello.json", None),
        (".git/index", None),
        (".git/x.go", None),
        (".lambdadev/build/bootstrap", None),
        (".lambdadev/build/.bootstrap.12.tmp", None),
        (".main.go.swp", None),
        ("main.go~", None),
        (".#main.go", None),
        ("4913", None),
        ("main.go___jb_tmp___", None),
    ],
)
def test_kind(source: SourceFilter, tmp_path: Path, rel: str, kind: str | None) -> None:
    assert source.kind(tmp_path / rel) == kind


def test_paths_outside_the_folder_are_ignored(source: SourceFilter, tmp_path: Path) -> None:
    assert source.kind(tmp_path.parent / "other.go") is None


def test_env_file_outside_the_folder_is_config(tmp_path: Path) -> None:
    root = tmp_path / "fn"
    root.mkdir()
    env = tmp_path / "secrets" / "dev.env"
    source = SourceFilter(root, env_file=env)
    assert source.kind(env) == "config"
    assert source.kind(tmp_path / "secrets" / "other.env") is None


def test_change_set_marks_full_rebuild_and_merges(source: SourceFilter, tmp_path: Path) -> None:
    only_code = source.change_set([tmp_path / "main.go", tmp_path / ".main.go.swp"])
    assert only_code is not None
    assert only_code.paths == {"main.go"}
    assert not only_code.full
    config = source.change_set([tmp_path / "Dockerfile"])
    assert config is not None and config.full
    merged = only_code.merge(config)
    assert merged.full and merged.paths == {"main.go", "Dockerfile"}
    assert merged.seen_at == min(only_code.seen_at, config.seen_at)
    assert source.change_set([tmp_path / "README.md"]) is None


def test_describe_names_few_files_and_counts_many() -> None:
    assert ChangeSet(frozenset({"main.go"}), False).describe() == "main.go changed"
    many = ChangeSet(frozenset({"a.go", "b.go", "c.go", "d.go"}), False)
    assert many.describe() == "4 files changed"


def test_temp_names() -> None:
    assert is_temp(".goutputstream-XYZ")
    assert not is_temp("main.go")


def test_real_watcher_coalesces_a_burst_and_ignores_temp_files(tmp_path: Path) -> None:
    """watchfiles on a real folder: a burst of saves → one change set; temp files → nothing."""
    source = SourceFilter(tmp_path)
    (tmp_path / ".lambdadev").mkdir()

    async def scenario() -> list[ChangeSet]:
        stop = asyncio.Event()
        seen: list[ChangeSet] = []

        async def collect() -> None:
            async for change in watch(source, stop):
                seen.append(change)

        task = asyncio.ensure_future(collect())
        await asyncio.sleep(0.3)  # let the watcher start
        (tmp_path / ".main.go.swp").write_text("x")
        (tmp_path / ".lambdadev" / "bootstrap").write_text("x")
        for name in ("a.go", "b.go", "c.go"):  # one burst, no pause between the saves
            (tmp_path / name).write_text("package main\n")
        while not seen:
            await asyncio.sleep(STEP_MS / 1000)
        await asyncio.sleep(20 * STEP_MS / 1000)  # anything else would have arrived by now
        stop.set()
        await asyncio.wait_for(task, 10)
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert len(seen) == 1, seen
    assert seen[0].paths == {"a.go", "b.go", "c.go"}
    assert not seen[0].full
