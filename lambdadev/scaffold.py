"""``lambdadev new``: render a template folder from ``scaffolds/`` into place.

A project is rendered into a hidden temporary folder beside its destination,
its Go module is resolved there (``go mod tidy``), and only then is it moved
into place, so a failure never leaves half a project behind.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lambdadev import gotool
from lambdadev.errors import UsageError

RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d"
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$")
MODULE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*(?:/[A-Za-z0-9._~-]+)*$")
GO_VERSION_RE = re.compile(r"^1\.(\d+)$")
ARCHES = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class Base:
    image: str
    description: str
    production: str
    go_tags: str = "lambda.norpc"


BASES: dict[str, Base] = {
    "al2023": Base(
        image="public.ecr.aws/lambda/provided:al2023",
        description="AWS's OS-only Lambda image (Amazon Linux 2023)",
        production=(
            "COPY --from=build /out/bootstrap /var/task/bootstrap\n"
            "WORKDIR /var/task\n"
            "USER 65532:65532\n"
            'ENTRYPOINT ["/var/task/bootstrap"]\n'
        ),
    ),
    "distroless": Base(
        image="gcr.io/distroless/static-debian12:nonroot",
        description="Google's distroless static image: CA bundle, tzdata, user nonroot",
        production=(
            "COPY --from=build /out/bootstrap /var/task/bootstrap\n"
            "WORKDIR /var/task\n"
            "USER 65532:65532\n"
            'ENTRYPOINT ["/var/task/bootstrap"]\n'
        ),
    ),
    "scratch": Base(
        image="scratch",
        description="nothing but the binary, the CA bundle and embedded tzdata",
        production=(
            "# scratch has no CA bundle: copy the build stage's so HTTPS calls to AWS work\n"
            "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
            "COPY --from=build /out/bootstrap /var/task/bootstrap\n"
            "WORKDIR /var/task\n"
            "USER 65532:65532\n"
            'ENTRYPOINT ["/var/task/bootstrap"]\n'
        ),
        go_tags="lambda.norpc,timetzdata",
    ),
}


def scaffolds_dir() -> Path:
    """``lambdadev/scaffolds`` in a wheel, the top-level ``scaffolds/`` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "scaffolds", here.parent / "scaffolds"):
        if (candidate / "common").is_dir():
            return candidate
    raise FileNotFoundError("lambdadev's scaffolds folder is missing from this installation")


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    requires: tuple[str, ...]
    default_event: str
    examples: tuple[dict[str, object], ...]


def templates() -> dict[str, Manifest]:
    found: dict[str, Manifest] = {}
    for folder in sorted(scaffolds_dir().iterdir()):
        manifest = folder / "manifest.toml"
        if manifest.is_file():
            data = tomllib.loads(manifest.read_text())
            found[folder.name] = Manifest(
                name=folder.name,
                description=str(data.get("description", "")),
                requires=tuple(data.get("requires", ())),
                default_event=str(data.get("default_event", "")),
                examples=tuple(data.get("examples", ())),
            )
    return found


@dataclass(frozen=True)
class NewProject:
    name: str
    template: str = "hello"
    base: str = "al2023"
    arch: str = "x86_64"
    module: str | None = None
    go_version: str | None = None


def validate(req: NewProject) -> tuple[Manifest, str, str]:
    """Check every input before anything is written; return (manifest, module, go version)."""
    if not req.name or not NAME_RE.match(req.name) or ".." in req.name:
        raise UsageError(
            f"invalid function name {req.name!r}",
            hint="use lower-case letters, digits, '-', '_' or '.'; start and end with a letter or digit",
        )
    known = templates()
    if req.template not in known:
        raise UsageError(f"unknown template {req.template!r}", hint=f"choose one of: {', '.join(known)}")
    if req.base not in BASES:
        raise UsageError(f"unknown base {req.base!r}", hint=f"choose one of: {', '.join(BASES)}")
    if req.arch not in ARCHES:
        raise UsageError(f"unknown architecture {req.arch!r}", hint=f"choose one of: {', '.join(ARCHES)}")
    module = req.module or req.name
    if not MODULE_RE.match(module) or ".." in module.split("/") or module.startswith("."):
        raise UsageError(f"invalid Go module path {module!r}", hint="for example github.com/you/" + req.name)
    go_version = req.go_version or gotool.default_go_version()
    match = GO_VERSION_RE.match(go_version)
    if not match or int(match.group(1)) < 21:
        raise UsageError(
            f"invalid --go-version {go_version!r}", hint="give a Go release as X.Y, 1.21 or newer, e.g. 1.26"
        )
    return known[req.template], module, go_version


def _target_name(relative: Path) -> Path:
    parts = [("." + p[4:]) if p.startswith("dot-") else p for p in relative.parts]
    name = parts[-1]
    if name.endswith(".tmpl"):
        parts[-1] = name[: -len(".tmpl")]
    return Path(*parts)


def render(src: Path, dest: Path, variables: dict[str, str]) -> None:
    for path in sorted(src.rglob("*")):
        relative = path.relative_to(src)
        if path.is_dir() or relative.name == "manifest.toml":
            continue
        target = dest / _target_name(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(".tmpl"):
            target.write_text(string.Template(path.read_text()).substitute(variables))
        else:
            shutil.copyfile(path, target)


TidyRunner = Callable[[Path, tuple[str, ...], str], None]


def create(parent: Path, req: NewProject, *, force: bool = False, tidy: TidyRunner | None = None) -> Path:
    """Write ``parent/NAME`` from the template; nothing is left behind on failure."""
    manifest, module, go_version = validate(req)
    dest = parent / req.name
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder", hint="choose another name")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UsageError(
            f"folder {dest} exists and is not empty",
            hint="choose another name, or pass --force to write the template into it",
        )
    base = BASES[req.base]
    variables = {
        "name": req.name,
        "module": module,
        "template": req.template,
        "base": req.base,
        "base_image": base.image,
        "arch": req.arch,
        "goarch": ARCHES[req.arch],
        "go_tags": base.go_tags,
        "go_version": go_version,
        "production": base.production,
        "rie_version": RIE_VERSION,
    }
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{req.name}.lambdadev-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        render(scaffolds_dir() / "common", tmp, variables)
        render(scaffolds_dir() / req.template, tmp, variables)
        (tmp / "go.mod").write_text(f"module {module}\n\ngo {go_version}\n")
        (tidy or gotool.tidy)(tmp, manifest.requires, go_version)
        if not dest.exists():
            tmp.rename(dest)
        else:
            for item in sorted(tmp.rglob("*")):
                if item.is_file():
                    target = dest / item.relative_to(tmp)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    item.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
