"""Architectures: which GOARCH and which base image a build of each target gets.

The classic builder (Docker engine 20.10 without BuildKit) cannot build one
stage for another platform: with ``--platform linux/arm64`` it refuses to
``COPY`` into, or ``COPY --from``, any stage whose image is amd64, and the Go
build stage is. So lambdadev never passes ``--platform`` to a build. Instead:

* the build stage always runs natively and cross-compiles with ``GOARCH``;
* the production stage starts from a base image whose platform metadata is the
  function's architecture (a committed image inherits its parent's), so
  ``production``/``release`` carry ``arm64`` without emulation. For ``scratch``
  that parent is an empty image labelled for the architecture, made once; for a
  pulled base it is the architecture's variant (``docker pull --platform``),
  kept under its own local tag so the host's variant stays where it was;
* ``dev`` runs on the host: GOARCH and the base are the host's architecture.

BuildKit users get the same from the Dockerfile alone
(``docker buildx build --platform linux/arm64``): the build stage is pinned to
``$BUILDPLATFORM`` and GOARCH follows ``$TARGETARCH``.
"""

from __future__ import annotations

import platform
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from lambdadev.engine import Image

GOARCHES = {"x86_64": "amd64", "arm64": "arm64"}
MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
LOCAL_BASES = "lambdadev-base"


class ImageEngine(Protocol):
    """What this module needs of :class:`lambdadev.engine.Engine`."""

    def image_attrs(self, ref: str) -> dict[str, object]: ...

    def image(self, ref: str) -> Image | None: ...

    def pull(self, ref: str, platform: str) -> None: ...

    def tag(self, image_id: str, ref: str) -> None: ...

    def build(
        self, root: Path, *, target: str | None, tag: str, buildargs: Mapping[str, str], platform: str | None
    ) -> Image: ...


def host_arch() -> str:
    """``x86_64`` or ``arm64`` (lambdadev's names), from the machine this runs on."""
    return MACHINES.get(platform.machine().lower(), platform.machine().lower())


def goarch(arch: str) -> str:
    return GOARCHES.get(arch, arch)


def build_platform() -> str:
    return f"linux/{goarch(host_arch())}"


def target_arch(arch: str, target: str) -> str:
    """The architecture an image of ``target`` is built for: dev always runs natively."""
    return host_arch() if target == "dev" else arch


def _image_arch(engine: ImageEngine, ref: str) -> str | None:
    if engine.image(ref) is None:
        return None
    return str(engine.image_attrs(ref).get("Architecture") or "") or None


def local_base_ref(ref: str, arch: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", ref.lower()).strip("-.") or "base"
    return f"{LOCAL_BASES}/{slug}:{arch}"


def base_for(engine: ImageEngine, ref: str, arch: str) -> str:
    """A local image to build ``FROM`` whose platform is ``arch`` (the ref itself when it is)."""
    wanted = goarch(arch)
    if ref == "scratch":
        return ref if arch == host_arch() else _empty_base(engine, wanted)
    have = _image_arch(engine, ref)
    if have == wanted or (have is None and arch == host_arch()):
        return ref  # right already, or absent and the build pulls the host's variant itself
    local = local_base_ref(ref, arch)
    if _image_arch(engine, local) == wanted:
        return local
    previous = engine.image(ref)  # keep the host's variant under the original tag
    engine.pull(ref, f"linux/{wanted}")
    pulled = engine.image(ref)
    if pulled is None or _image_arch(engine, ref) != wanted:
        from lambdadev.errors import EnvironmentProblem

        raise EnvironmentProblem(
            f"{ref} has no linux/{wanted} variant",
            hint="point BASE_IMAGE at a linux/" + wanted + " image with --build-arg BASE_IMAGE=…",
        )
    engine.tag(pulled.id, local)
    if previous is not None and previous.id != pulled.id:
        engine.tag(previous.id, ref)
    return local


def _empty_base(engine: ImageEngine, wanted: str) -> str:
    """An empty image whose platform is linux/``wanted``: ``scratch`` for another architecture."""
    ref = f"{LOCAL_BASES}/scratch:{wanted}"
    if _image_arch(engine, ref) == wanted:
        return ref
    with tempfile.TemporaryDirectory(prefix="lambdadev-scratch-") as tmp:
        # a COPY (of an empty folder) is what makes the classic builder stamp the platform
        (Path(tmp) / "empty").mkdir()
        (Path(tmp) / "Dockerfile").write_text("FROM scratch\nCOPY empty/ /\n")
        engine.build(Path(tmp), target=None, tag=ref, buildargs={}, platform=f"linux/{wanted}")
    return ref


def build_args(
    engine: ImageEngine, arch: str, target: str, args: Mapping[str, str], dockerfile_base: str | None
) -> dict[str, str]:
    """The architecture's build args for one build of ``target``: GOARCH, BUILDPLATFORM, BASE_IMAGE."""
    wanted = target_arch(arch, target)
    extra = {"GOARCH": goarch(wanted), "BUILDPLATFORM": build_platform()}
    base = args.get("BASE_IMAGE") or dockerfile_base
    if base:
        resolved = base_for(engine, base, wanted)
        if resolved != base or "BASE_IMAGE" in args:
            extra["BASE_IMAGE"] = resolved
    return extra


def dockerfile_arg(root: Path, name: str) -> str | None:
    """The default of ``ARG NAME=value`` in the function's Dockerfile."""
    try:
        text = (root / "Dockerfile").read_text()
    except OSError:
        return None
    match = re.search(rf"^\s*ARG\s+{re.escape(name)}=(\S*)\s*$", text, re.MULTILINE)
    return match.group(1).strip("\"'") if match else None
