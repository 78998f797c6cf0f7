"""`lambdadev new`: validation, rendering, nothing written on bad input (no Docker needed).

The real Go module resolution and builds of every template are in
tests/test_templates_docker.py; here `tidy` is faked except in the CLI tests of
bad input, which fail before it would run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambdadev import arch, scaffold, size
from lambdadev.engine import Image
from lambdadev.errors import BuildFailed, UsageError


def fake_tidy(folder: Path, requires: tuple[str, ...], go_version: str) -> None:
    (folder / "go.sum").write_text("")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_new(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lambdadev", "new", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


BAD_INPUT = [
    pytest.param([""], "invalid function name", id="empty-name"),
    pytest.param(["a/b"], "invalid function name", id="slash"),
    pytest.param(["a\\b"], "invalid function name", id="backslash"),
    pytest.param([".."], "invalid function name", id="dotdot"),
    pytest.param(["a..b"], "invalid function name", id="double-dot"),
    pytest.param(["Hello"], "invalid function name", id="upper-case"),
    pytest.param(["hello world"], "invalid function name", id="space"),
    pytest.param(["héllo"], "invalid function name", id="non-ascii"),
    pytest.param(["x" * 64], "longer than 63", id="too-long"),
    pytest.param(["fn", "--template", "grpc"], "unknown template 'grpc'", id="template"),
    pytest.param(["fn", "--base", "alpine"], "unknown base 'alpine'", id="base"),
    pytest.param(["fn", "--arch", "armv7"], "unknown architecture 'armv7'", id="arch"),
    pytest.param(["fn", "--module", "github.com/me/a b"], "invalid Go module path", id="module-space"),
    pytest.param(["fn", "--module", "github.com//me"], "invalid Go module path", id="module-empty-elem"),
    pytest.param(["fn", "--module", "/abs/path"], "invalid Go module path", id="module-absolute"),
    pytest.param(["fn", "--module", "example.com/../x"], "invalid Go module path", id="module-dotdot"),
    pytest.param(["fn", "--module", "example.com/x."], "invalid Go module path", id="module-trailing-dot"),
    pytest.param(["fn", "--module", "-x/y"], "invalid Go module path", id="module-dash"),
    pytest.param(["fn", "--module", "example.com/x@v1"], "invalid Go module path", id="module-at"),
    pytest.param(["fn", "--module", ""], "invalid Go module path", id="module-empty"),
    pytest.param(["fn", "--go-version", "1.20"], "invalid --go-version", id="go-too-old"),
    pytest.param(["fn", "--go-version", "go1.26"], "invalid --go-version", id="go-prefix"),
    pytest.param(["fn", "--go-version", "2"], "invalid --go-version", id="go-major"),
    pytest.param(["fn", "--go-version", "1.99"], "newer than this machine's Go", id="go-newer-than-host"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str):
    (tmp_path / "keep.txt").write_text("untouched")
    before = snapshot(tmp_path)
    result = run_new(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("lambdadev: error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert any(line.startswith("hint: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_non_empty_folder_without_force_is_untouched(tmp_path: Path):
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "main.go").write_text("package main // mine\n")
    before = snapshot(tmp_path)
    result = run_new(tmp_path, "fn")
    assert result.returncode == 2
    assert "exists and is not empty" in result.stderr and "--force" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_file_in_the_way_is_untouched(tmp_path: Path):
    (tmp_path / "fn").write_text("a file")
    result = run_new(tmp_path, "fn")
    assert result.returncode == 2 and "is not a folder" in result.stderr
    assert (tmp_path / "fn").read_text() == "a file"


@pytest.mark.parametrize("template", sorted(scaffold.templates()))
@pytest.mark.parametrize("base", list(scaffold.BASES))
def test_render_every_template_and_base(tmp_path: Path, template: str, base: str):
    req = scaffold.NewProject(
        name="fn", template=template, base=base, module="example.com/fn", go_version="1.26"
    )
    dest = scaffold.create(tmp_path, req, tidy=fake_tidy)
    names = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    for expected in ("Dockerfile", ".dockerignore", ".gitignore", "lambdadev.toml", "README.md", "go.mod"):
        assert expected in names
    assert "main.go" in names and "main_test.go" in names
    assert not any(n.endswith(".tmpl") or n == "manifest.toml" or "dot-" in n for n in names)
    manifest = scaffold.templates()[template]
    for example in manifest.examples:
        assert str(example["event"]) in names, f"{template}: example event {example['event']} not rendered"
    dockerfile = (dest / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={scaffold.BASES[base].image}\n" in dockerfile
    assert "ARG GOARCH=${TARGETARCH:-amd64}" in dockerfile
    assert "$name" not in dockerfile and "$production" not in dockerfile
    assert ("ca-certificates.crt" in dockerfile) == (base == "scratch")
    assert 'ENTRYPOINT ["/var/task/bootstrap"]' in dockerfile
    assert "ARG GO_TAGS=lambda.norpc,timetzdata\n" in dockerfile  # tzdata on every base
    assert "USER 65532:65532" in dockerfile
    # the classic builder: none of BuildKit's Dockerfile extensions
    for buildkit_only in ("--mount", "--chmod", "--checksum", "<<"):
        assert buildkit_only not in dockerfile
    assert (dest / "go.mod").read_text().startswith("module example.com/fn\n\ngo 1.26\n")
    toml = (dest / "lambdadev.toml").read_text()
    assert f'base = "{base}"' in toml and f'template = "{template}"' in toml
    readme = (dest / "README.md").read_text()
    assert "lambdadev up" in readme and "lambdadev invoke" in readme
    assert not list(tmp_path.glob(".fn.lambdadev-*")), "temporary folder left behind"


def test_arm64_sets_goarch(tmp_path: Path):
    req = scaffold.NewProject(name="fn", arch="arm64", go_version="1.26")
    dest = scaffold.create(tmp_path, req, tidy=fake_tidy)
    assert "ARG GOARCH=${TARGETARCH:-arm64}" in (dest / "Dockerfile").read_text()
    assert 'arch = "arm64"' in (dest / "lambdadev.toml").read_text()


def test_failed_tidy_leaves_nothing(tmp_path: Path):
    def failing_tidy(folder: Path, requires: tuple[str, ...], go_version: str) -> None:
        assert (folder / "main.go").is_file()  # rendered into the temporary folder first
        raise BuildFailed("`go mod tidy` failed: no network", hint="check GOPROXY")

    with pytest.raises(BuildFailed):
        scaffold.create(tmp_path, scaffold.NewProject(name="fn", go_version="1.26"), tidy=failing_tidy)
    assert list(tmp_path.iterdir()) == []


def test_force_writes_into_a_non_empty_folder_and_keeps_other_files(tmp_path: Path):
    dest = tmp_path / "fn"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    (dest / "main.go").write_text("old")
    scaffold.create(tmp_path, scaffold.NewProject(name="fn", go_version="1.26"), force=True, tidy=fake_tidy)
    assert (dest / "notes.txt").read_text() == "mine"
    assert "lambda.Start" in (dest / "main.go").read_text()
    with pytest.raises(UsageError):
        scaffold.create(tmp_path, scaffold.NewProject(name="fn", go_version="1.26"), tidy=fake_tidy)


@pytest.mark.parametrize("module", ["fn", "github.com/me/fn", "example.com/a_b-c.d/v2", "gopkg.in/x~y"])
def test_valid_module_paths(module: str):
    scaffold.check_module(module, "fn")


@pytest.mark.parametrize("name", ["a", "hello", "my-fn", "my_fn", "my.fn", "fn2", "a--b"])
def test_valid_names(name: str):
    scaffold.check_name(name)


# ---- size: rendering of the table (the measuring is in the docker tests) ----


def rows() -> list[size.Row]:
    def row(base: str, image_size: int, binary: int, current: bool = False) -> size.Row:
        return size.Row(
            base, f"img/{base}", f"t:{base}", image_size, binary, "bootstrap", 2, image_size / 400e6, current
        )

    return [row("single-stage", 400_000_000, 9_000_000), row("scratch", 4_000_000, 3_800_000, True)]


def test_size_plain_table():
    text = size.plain(rows())
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["base", "from"] and set(lines[1]) <= {"-", " "}
    assert "scratch *" in text and "1/100" in text and "1.0%" in text and "400.0 MB" in text
    assert "1 (baseline)" in lines[2]


def test_size_inside_markers():
    files = {"/var/task/bootstrap": 10, "/etc/ssl/certs/ca-certificates.crt": 5, "/src/main.go": 3}
    assert size.inside(files, "/var/task/bootstrap") == "bootstrap, CA bundle, Go sources"


# ---- arch: which base a build of another architecture starts from (fake engine: wiring only) ----


class FakeImages:
    def __init__(self, arches: dict[str, str]) -> None:
        self.arches = arches
        self.pulled: list[tuple[str, str]] = []
        self.built: list[tuple[str, str | None]] = []

    def image(self, ref: str) -> Image | None:
        return Image(id=f"id-{ref}-{self.arches[ref]}", tag=ref, size=1) if ref in self.arches else None

    def image_attrs(self, ref: str) -> dict[str, object]:
        return {"Architecture": self.arches[ref]}

    def pull(self, ref: str, platform: str) -> None:
        self.pulled.append((ref, platform))
        self.arches[ref] = platform.split("/")[1]

    def tag(self, image_id: str, ref: str) -> None:
        self.arches[ref] = image_id.rsplit("-", 1)[1]

    def build(
        self, root: Path, *, target: str | None, tag: str, buildargs: object, platform: str | None
    ) -> Image:
        assert (root / "Dockerfile").read_text().startswith("FROM scratch\nCOPY ")
        self.built.append((tag, platform))
        self.arches[tag] = (platform or "linux/amd64").split("/")[1]
        return Image(id="x", tag=tag, size=0)


@pytest.fixture
def on_x86(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arch.platform, "machine", lambda: "x86_64")


def test_arch_same_as_host_keeps_the_base(on_x86: None):
    engine = FakeImages({"base:1": "amd64"})
    assert arch.base_for(engine, "base:1", "x86_64") == "base:1"
    assert arch.base_for(engine, "scratch", "x86_64") == "scratch"
    assert arch.base_for(engine, "absent:1", "x86_64") == "absent:1"
    assert engine.pulled == [] and engine.built == []


def test_arch_arm64_scratch_is_an_empty_arm64_image(on_x86: None):
    engine = FakeImages({})
    assert arch.base_for(engine, "scratch", "arm64") == "lambdadev-base/scratch:arm64"
    assert engine.built == [("lambdadev-base/scratch:arm64", "linux/arm64")]
    arch.base_for(engine, "scratch", "arm64")
    assert len(engine.built) == 1  # made once


def test_arch_arm64_pull_keeps_the_host_variant_under_the_original_tag(on_x86: None):
    engine = FakeImages({"base:1": "amd64"})
    local = arch.base_for(engine, "base:1", "arm64")
    assert local == "lambdadev-base/base-1:arm64" and engine.arches[local] == "arm64"
    assert engine.pulled == [("base:1", "linux/arm64")]
    assert engine.arches["base:1"] == "amd64"
    assert arch.base_for(engine, "base:1", "arm64") == local and len(engine.pulled) == 1


def test_arch_build_args_dev_is_native(on_x86: None):
    engine = FakeImages({"base:1": "amd64"})
    dev = arch.build_args(engine, "arm64", "dev", {}, "base:1")
    assert dev == {"GOARCH": "amd64", "BUILDPLATFORM": "linux/amd64"}
    prod = arch.build_args(engine, "arm64", "production", {}, "base:1")
    assert prod["GOARCH"] == "arm64" and prod["BASE_IMAGE"] == "lambdadev-base/base-1:arm64"


def test_size_bars_share_the_scale_of_the_biggest_production_image():
    baseline, scratch = rows()
    al2023 = size.Row("al2023", "img", "t", 8_000_000, 3_800_000, "bootstrap", 9, 0.02)
    assert size.bar(baseline, 8_000_000).endswith("»")
    assert len(size.bar(al2023, 8_000_000)) == 24 and len(size.bar(scratch, 8_000_000)) == 12
