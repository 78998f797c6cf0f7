"""``lambdadev size``: the seed article's size table, for this function.

Builds the ``production`` target on each base (the function's own Dockerfile for
its own base, the Dockerfile ``new`` would write for the others) and a
single-stage baseline as in the seed (the Go builder image, ``COPY . .``,
``go build``), then reports image size, binary size, what is inside and the
ratio to the single-stage image.

Which image stands for each base: ``LAMBDADEV_BASE_IMAGES="al2023=REF distroless=REF"``
(the way in for mirrors and for the tests' local stand-ins), then, for the
function's own base, its ``BASE_IMAGE`` build arg, then the upstream image.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdadev import arch, gotool, scaffold
from lambdadev.engine import LABEL_PROJECT, Engine
from lambdadev.errors import UsageError
from lambdadev.settings import Settings, parse_pairs

if TYPE_CHECKING:
    from rich.console import Console

BASE_IMAGES_ENV = "LAMBDADEV_BASE_IMAGES"
BASELINE = "single-stage"
BINARY = "/var/task/bootstrap"
BASELINE_BINARY = "/bootstrap"
BASELINE_INSIDE = "Go toolchain, sources, module and build caches, binary"

BASELINE_DOCKERFILE = """\
# The seed article's single-stage image: everything the build needed ships.
ARG GO_IMAGE=golang:{go_version}
FROM ${{GO_IMAGE}}
ARG GOPROXY
ARG GOSUMDB
ARG GONOSUMDB
ARG GOPRIVATE
ARG GONOPROXY
ARG GOFLAGS
WORKDIR /src
COPY go.mod .
COPY . .
RUN go build -tags lambda.norpc -o {binary} .
ENTRYPOINT ["{binary}"]
"""

# What a file in a production image says about what is inside it.
MARKERS: tuple[tuple[str, str], ...] = (
    ("/usr/local/go/bin/go", "Go toolchain"),
    ("/usr/local/bin/aws-lambda-rie", "RIE"),
    ("/etc/ssl/certs/ca-certificates.crt", "CA bundle"),
    ("/etc/pki/tls/certs/ca-bundle.crt", "CA bundle"),
    ("/usr/share/zoneinfo/UTC", "tzdata"),
    ("/etc/passwd", "users"),
    ("/bin/sh", "shell"),
    ("/usr/bin/dnf", "package manager"),
    ("/usr/bin/microdnf", "package manager"),
)


@dataclass(frozen=True)
class Row:
    base: str
    image: str  # the image the base came from (a stand-in shows under its own name)
    tag: str
    image_size: int
    binary_size: int | None
    inside: str
    files: int | None  # regular files in the image (not counted for the baseline)
    ratio: float  # image_size / the single-stage image's size
    current: bool = False  # the base in lambdadev.toml


def base_images(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    mapping = parse_pairs(environ.get(BASE_IMAGES_ENV, "").split(), BASE_IMAGES_ENV)
    unknown = sorted(set(mapping) - set(scaffold.BASES))
    if unknown:
        raise UsageError(
            f"{BASE_IMAGES_ENV} names unknown base {unknown[0]!r}",
            hint=f"write it as {BASE_IMAGES_ENV}='al2023=REF distroless=REF'",
        )
    images = {}
    for name, spec in scaffold.BASES.items():
        own = settings.build_args.get("BASE_IMAGE") if name == settings.base else None
        images[name] = mapping.get(name) or own or spec.image
    return images


def go_version(root: Path) -> str:
    try:
        match = re.search(r"^go\s+(\d+\.\d+)", (root / "go.mod").read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else gotool.default_go_version()


def inside(files: Mapping[str, int], binary: str) -> str:
    found = ["bootstrap"] if binary in files else []
    for path, what in MARKERS:
        if path in files and what not in found:
            found.append(what)
    if any(p.startswith(("/src/", "/var/task/main.go")) or p.endswith(".go") for p in files):
        found.append("Go sources")
    return ", ".join(found) or "nothing recognisable"


def measure(
    engine: Engine,
    settings: Settings,
    bases: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    on_step: Callable[[str], None] = lambda _: None,
    on_line: Callable[[str], None] | None = None,
) -> list[Row]:
    """Build the baseline and the production image on each base; return the table's rows."""
    from lambdadev.up import build_args

    wanted = list(bases) or list(scaffold.BASES)
    for name in wanted:
        if name not in scaffold.BASES:
            raise UsageError(f"unknown base {name!r}", hint=f"choose from: {', '.join(scaffold.BASES)}")
    images = base_images(settings, os.environ if environ is None else environ)
    common = build_args(settings)
    version = go_version(settings.root)
    labels = {LABEL_PROJECT: settings.project_id}
    measured: list[tuple[str, str, str, int, int | None, str, int | None]] = []
    with tempfile.TemporaryDirectory(prefix="lambdadev-size-") as tmp:
        baseline_file = Path(tmp) / "Dockerfile.single-stage"
        baseline_file.write_text(BASELINE_DOCKERFILE.format(go_version=version, binary=BASELINE_BINARY))
        tag = settings.image_tag(f"size-{BASELINE}")
        on_step(f"building the single-stage baseline {tag}")
        image = engine.build(
            settings.root,
            target=None,
            tag=tag,
            buildargs=common,
            labels=labels,
            on_line=on_line,
            dockerfile=str(baseline_file),
        )
        baseline_size = image.size
        go_image = common.get("GO_IMAGE") or f"golang:{version}"
        binary = engine.file_size(tag, BASELINE_BINARY)
        measured.append((BASELINE, go_image, tag, image.size, binary, BASELINE_INSIDE, None))
        for name in wanted:
            tag = settings.image_tag(f"size-{name}")
            args = {**common, "BASE_IMAGE": images[name]}
            args.update(arch.build_args(engine, settings.arch, "production", args, images[name]))
            dockerfile = None
            if name != settings.base:
                dockerfile = str(Path(tmp) / f"Dockerfile.{name}")
                Path(dockerfile).write_text(
                    scaffold.dockerfile_text(settings.name, name, settings.arch, version)
                )
            on_step(f"building production on {name} ({images[name]}) as {tag}")
            image = engine.build(
                settings.root,
                target="production",
                tag=tag,
                buildargs=args,
                labels=labels,
                on_line=on_line,
                dockerfile=dockerfile,
            )
            files = engine.image_files(tag)
            regular = sum(1 for size in files.values() if size > 0)
            measured.append(
                (name, images[name], tag, image.size, files.get(BINARY), inside(files, BINARY), regular)
            )
    return [
        Row(
            base=base,
            image=ref,
            tag=tag,
            image_size=size,
            binary_size=binary,
            inside=what,
            files=count,
            ratio=size / baseline_size if baseline_size else 0.0,
            current=base == settings.base,
        )
        for base, ref, tag, size, binary, what, count in measured
    ]


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.2f} GB"


def ratio_text(row: Row) -> str:
    if row.base == BASELINE:
        return "1 (baseline)"
    if row.ratio <= 0:
        return "-"
    return f"{row.ratio * 100:.1f}% (1/{1 / row.ratio:.0f})"


def base_label(row: Row) -> str:
    return row.base + (" *" if row.current else "")


HEADERS = ("base", "from image", "image size", "binary", "inside", "vs single-stage")


def cells(row: Row) -> tuple[str, ...]:
    return (
        base_label(row),
        row.image,
        human(row.image_size),
        human(row.binary_size),
        row.inside,
        ratio_text(row),
    )


def plain(rows: list[Row]) -> str:
    """A fixed-width table for pipes and logs."""
    table = [HEADERS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("* the base in lambdadev.toml; sizes are uncompressed, as `docker images` shows them")
    return "\n".join(lines) + "\n"


def bar(row: Row, scale: int, width: int = 24) -> str:
    """Bars share the scale of the biggest production image; the baseline runs off it (»)."""
    if row.base == BASELINE or scale <= 0:
        return "█" * width + "»"
    return "█" * max(1, round(row.image_size / scale * width))


def print_rich(rows: list[Row], console: Console) -> None:
    from rich.table import Table

    table = Table(
        title="image size by base (production target)",
        caption="* the base in lambdadev.toml · bars: scale of the biggest production image",
    )
    for header in HEADERS:
        table.add_column(header, justify="right" if "size" in header or header == "binary" else "left")
    table.add_column("")
    scale = max((r.image_size for r in rows if r.base != BASELINE), default=0)
    for row in rows:
        table.add_row(*cells(row), bar(row, scale), style="bold" if row.current else None)
    console.print(table)


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2) + "\n"
