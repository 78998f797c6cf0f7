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
# The name is the folder, the default Go module path and the image repository
# (lambdadev/NAME), so it follows Docker's rule for a repository path component.
NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
NAME_MAX = 63
# golang.org/x/mod/module.CheckImportPath: elements of ASCII letters, digits and -._~+,
# not empty, not starting or ending with a dot; the first element not starting with '-'.
MODULE_ELEMENT_RE = re.compile(r"^[A-Za-z0-9_~+-](?:[A-Za-z0-9._~+-]*[A-Za-z0-9_~+-])?$")
GO_VERSION_RE = re.compile(r"^1\.(\d+)$")
MIN_GO_MINOR = 21  # toolchain lines in go.mod, log/slog; aws-lambda-go needs 1.18+
ARCHES = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class Base:
    image: str
    description: str
    production: str
    # One binary for every base: tzdata embedded everywhere (about 450 KB) makes time.LoadLocation
    # behave the same on each, `lambdadev size` compares like with like, and the Go build stage is
    # shared between bases.
    go_tags: str = "lambda.norpc,timetzdata"


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
    check_name(req.name)
    known = templates()
    if req.template not in known:
        raise UsageError(f"unknown template {req.template!r}", hint=f"choose one of: {', '.join(known)}")
    if req.base not in BASES:
        raise UsageError(f"unknown base {req.base!r}", hint=f"choose one of: {', '.join(BASES)}")
    if req.arch not in ARCHES:
        raise UsageError(f"unknown architecture {req.arch!r}", hint=f"choose one of: {', '.join(ARCHES)}")
    module = req.module if req.module is not None else req.name
    check_module(module, req.name)
    go_version = req.go_version or gotool.default_go_version()
    match = GO_VERSION_RE.match(go_version)
    if not match or int(match.group(1)) < MIN_GO_MINOR:
        raise UsageError(
            f"invalid --go-version {go_version!r}",
            hint=f"give a Go release as X.Y, 1.{MIN_GO_MINOR} or newer, e.g. {gotool.default_go_version()}",
        )
    return known[req.template], module, go_version


def check_name(name: str) -> None:
    why = None
    if not name:
        why = "it is empty"
    elif "/" in name or "\\" in name or name in (".", ".."):
        why = "it is a path, not a name"
    elif len(name) > NAME_MAX:
        why = f"it is longer than {NAME_MAX} characters"
    elif not NAME_RE.match(name):
        why = "it is not a valid image and folder name"
    if why:
        raise UsageError(
            f"invalid function name {name!r}: {why}",
            hint="use lower-case letters and digits, separated by single '-', '_' or '.', e.g. my-function",
        )


def check_module(module: str, name: str) -> None:
    """Reject what `go mod init` would reject (golang.org/x/mod/module.CheckImportPath)."""
    elements = module.split("/")
    bad = next((e for e in elements if not MODULE_ELEMENT_RE.match(e)), None)
    if not module or bad is not None or elements[0].startswith("-"):
        detail = "it is empty" if not module else f"bad path element {bad or elements[0]!r}"
        raise UsageError(
            f"invalid Go module path {module!r}: {detail}",
            hint=f"use letters, digits and -._~ between single slashes, e.g. github.com/you/{name}",
        )


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


def template_variables(name: str, base: str, arch: str, go_version: str) -> dict[str, str]:
    """What the ``.tmpl`` files of ``common/`` are rendered with (the Dockerfile needs only these)."""
    spec = BASES[base]
    return {
        "name": name,
        "base": base,
        "base_image": spec.image,
        "arch": arch,
        "goarch": ARCHES[arch],
        "go_tags": spec.go_tags,
        "go_version": go_version,
        "production": spec.production,
        "rie_version": RIE_VERSION,
    }


def dockerfile_text(name: str, base: str, arch: str, go_version: str) -> str:
    """The Dockerfile ``new`` writes for ``base`` (``size`` builds the bases a function does not use)."""
    template = string.Template((scaffolds_dir() / "common" / "Dockerfile.tmpl").read_text())
    return template.substitute(template_variables(name, base, arch, go_version))


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
    variables = template_variables(req.name, req.base, req.arch, go_version)
    variables.update(module=module, template=req.template)
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
