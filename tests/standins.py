"""Local stand-ins for the images the generated Dockerfile pulls.

No registry is reachable on the CI machines, so the tests (and the benchmarks)
build three images from what the host has, once, and point the Dockerfile's
``GO_IMAGE`` / ``BASE_IMAGE`` build args at them:

* ``lambdadev-standin/golang:<go>``: FROM scratch with the host's Go,
  Debian's busybox-static as the shell, the host CA bundle and the host's Go
  proxy settings;
* ``lambdadev-standin/provided:al2023``: busybox rootfs with the Lambda
  layout (``/var/task``, ``LAMBDA_TASK_ROOT``) standing in for
  ``public.ecr.aws/lambda/provided:al2023``;
* ``lambdadev-standin/distroless-static:nonroot``: CA bundle, passwd with
  ``nonroot`` (65532), zoneinfo, standing in for
  ``gcr.io/distroless/static-debian12:nonroot``.

Run ``python -m tests.standins`` to build them by hand; the test session and
``bench/`` call :func:`ensure_standins`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker

GO_ROOT = Path(os.environ.get("LAMBDADEV_STANDIN_GOROOT", "/usr/local/go"))
BUSYBOX = Path("/bin/busybox")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ZONEINFO = Path("/usr/share/zoneinfo")
PROXY_VARS = ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOFLAGS")

AL2023 = "lambdadev-standin/provided:al2023"
DISTROLESS = "lambdadev-standin/distroless-static:nonroot"


def host_go_version() -> str:
    """``1.26`` for go1.26.8: the tag the real golang image would have."""
    out = subprocess.run(
        [str(GO_ROOT / "bin" / "go"), "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    major, minor = out.removeprefix("go").split(".")[:2]
    return f"{major}.{minor}"


def go_image() -> str:
    return f"lambdadev-standin/golang:{host_go_version()}"


def host_go_env() -> dict[str, str]:
    out = subprocess.run(
        [str(GO_ROOT / "bin" / "go"), "env", *PROXY_VARS], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {k: v for k, v in zip(PROXY_VARS, out, strict=True) if v}


def build_args() -> dict[str, str]:
    """The build args that point a generated Dockerfile at the stand-ins."""
    return {"GO_IMAGE": go_image()}


def base_images() -> dict[str, str]:
    """Stand-in image per ``--base`` (scratch needs none)."""
    return {"al2023": AL2023, "distroless": DISTROLESS, "scratch": "scratch"}


def _add(tar: tarfile.TarFile, src: Path, arcname: str, mode: int | None = None) -> None:
    info = tar.gettarinfo(str(src), arcname)
    if mode is not None:
        info.mode = mode
    if info.isfile():
        with src.open("rb") as fh:
            tar.addfile(info, fh)
    else:
        tar.addfile(info)


def _add_text(tar: tarfile.TarFile, arcname: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _build(client: docker.DockerClient, tag: str, dockerfile: str, files: dict[str, Path | str]) -> None:
    """Build ``tag`` from a context made of ``files`` (arcname -> host path or text)."""
    with tempfile.TemporaryDirectory(prefix="lambdadev-standin-") as tmp:
        ctx = Path(tmp) / "context.tar"
        with tarfile.open(ctx, "w") as tar:
            _add_text(tar, "Dockerfile", dockerfile)
            for arcname, src in files.items():
                if isinstance(src, str):
                    _add_text(tar, arcname, src, 0o755)
                else:
                    tar.add(str(src), arcname=arcname)
        with ctx.open("rb") as fh:
            for chunk in client.api.build(
                fileobj=fh, custom_context=True, tag=tag, rm=True, forcerm=True, decode=True
            ):
                if "error" in chunk:
                    raise RuntimeError(f"building {tag}: {chunk['error']}")


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_go_image(client: docker.DockerClient) -> None:
    env = {"PATH": "/usr/local/go/bin:/go/bin:/bin", "GOPATH": "/go", "GOTOOLCHAIN": "local", "HOME": "/root"}
    env.update(host_go_env())
    env_lines = "\n".join(f'ENV {k}="{v}"' for k, v in env.items())
    dockerfile = f"""FROM scratch
COPY busybox /bin/busybox
COPY busybox /bin/sh
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /go /root && chmod 1777 /tmp
{env_lines}
WORKDIR /go
"""
    _build(
        client, go_image(), dockerfile, {"busybox": BUSYBOX, "ca-certificates.crt": CA_BUNDLE, "go": GO_ROOT}
    )


def build_al2023(client: docker.DockerClient) -> None:
    dockerfile = """FROM scratch
COPY busybox /bin/busybox
COPY busybox /bin/sh
COPY ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /var/task /var/runtime && chmod 1777 /tmp
ENV LANG=en_US.UTF-8 TZ=:/etc/localtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
"""
    entry = '#!/bin/sh\n# stand-in for the real image\'s entrypoint\nexec "$@"\n'
    files: dict[str, Path | str] = {
        "busybox": BUSYBOX,
        "ca-certificates.crt": CA_BUNDLE,
        "lambda-entrypoint.sh": entry,
    }
    _build(client, AL2023, dockerfile, files)


def build_distroless(client: docker.DockerClient) -> None:
    passwd = (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )
    group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
    dockerfile = """FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd /etc/passwd
COPY group /etc/group
COPY zoneinfo /usr/share/zoneinfo
USER 65532:65532
WORKDIR /home/nonroot
"""
    files: dict[str, Path | str] = {"ca-certificates.crt": CA_BUNDLE, "passwd": passwd, "group": group}
    if ZONEINFO.is_dir():
        files["zoneinfo"] = ZONEINFO
    else:
        dockerfile = dockerfile.replace("COPY zoneinfo /usr/share/zoneinfo\n", "")
    _build(client, DISTROLESS, dockerfile, files)


def ensure_standins(client: docker.DockerClient | None = None, *, rebuild: bool = False) -> dict[str, str]:
    """Build the stand-ins that are missing; return the build args that use them."""
    client = client or docker.from_env()
    for tag, build in ((go_image(), build_go_image), (AL2023, build_al2023), (DISTROLESS, build_distroless)):
        if rebuild or not _exists(client, tag):
            print(f"building stand-in {tag}", file=sys.stderr)
            build(client)
    return build_args()


if __name__ == "__main__":
    if not BUSYBOX.exists() or not (GO_ROOT / "bin" / "go").exists():
        sys.exit("stand-ins need busybox-static (/bin/busybox) and Go at " + str(GO_ROOT))
    args = ensure_standins(rebuild="--rebuild" in sys.argv)
    for k, v in args.items():
        print(f"{k}={v}")
