"""Every template on every base against the real engine, arm64 cross-builds, `lambdadev size`.

For each template x base: `new` -> gofmt/go vet/go test -> `build --target
production` (contents checked) -> `up` (builds dev) -> every `[[examples]]`
event of the template's manifest through the gateway, compared as JSON.

CI time: every cell of one template uses the same Go module path, so the
classic builder's layer cache shares the Go build stage between bases (the
context is identical; only GO_TAGS differ, two compiles per template), and the
RIE stage is built once for the whole run. Set LAMBDADEV_TEST_MODULE_PREFIX to
a fresh value (e.g. example.com/$RANDOM) to time a run with the Go stages cold.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest

from lambdadev import scaffold
from tests import standins
from tests.conftest import lambdadev_env, new_project, run_lambdadev

pytestmark = pytest.mark.docker

TEMPLATES = sorted(scaffold.templates())
BASES = list(scaffold.BASES)
GO = os.environ.get("LAMBDADEV_TEST_GO", "/usr/local/go/bin/go")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
RUNTIME_FILES = {"/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
MODULE_PREFIX = os.environ.get("LAMBDADEV_TEST_MODULE_PREFIX", "example.com")
ELF_MACHINE = {0x3E: "x86_64", 0xB7: "arm64"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("templates")


def image_files(client, ref: str) -> dict[str, bytes | None]:
    """path -> content for small regular files (None for big ones, folders and links)."""
    container = client.containers.create(ref, entrypoint=["/nonexistent"])
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    files: dict[str, bytes | None] = {}
    # (an export also holds what the engine adds to every container: /.dockerenv, /etc/hosts, ...)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            path = "/" + member.name.removeprefix("./").lstrip("/")
            if path in RUNTIME_FILES:
                continue
            fh = tar.extractfile(member) if member.isfile() and member.size < 64 << 20 else None
            files[path] = fh.read() if fh else None
    return files


def elf_arch(binary: bytes) -> str:
    assert binary[:4] == b"\x7fELF", "not an ELF binary"
    return ELF_MACHINE.get(int.from_bytes(binary[18:20], "little"), "unknown")


def go(project: Path, *args: str) -> str:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        [GO, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"go {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def same_json(got: bytes, expect: str) -> bool:
    return json.loads(got) == json.loads(expect)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_template_on_base(workdir, docker_client, standin_images, start_up, template: str, base: str):
    manifest = scaffold.templates()[template]
    project = new_project(
        workdir,
        f"{template}-{base}",
        "--template",
        template,
        "--module",
        f"{MODULE_PREFIX}/{template}",
        base=base,
    )

    # the generated Go: gofmt-clean, vet-clean, its own table tests pass
    gofmt = subprocess.run(
        [str(Path(GO).parent / "gofmt"), "-l", "."], cwd=project, capture_output=True, text=True, check=True
    )
    assert gofmt.stdout == "", f"not gofmt-clean: {gofmt.stdout}"
    go(project, "vet", "./...")
    go(project, "test", "./...")
    for example in manifest.examples:
        assert (project / str(example["event"])).is_file()

    # production: the binary and what the base needs, nothing of the build
    env = lambdadev_env(base)
    result = run_lambdadev("build", "--target", "production", cwd=project, env=env)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    tag = result.stdout.decode().split("\t")[0]
    files = image_files(docker_client, tag)
    binary = files["/var/task/bootstrap"]
    assert binary is not None and elf_arch(binary) == "x86_64"
    assert CA_BUNDLE in files or "/etc/pki/tls/certs/ca-bundle.crt" in files
    assert not [p for p in files if p.startswith("/usr/local/go") or p.endswith(".go") or "/src/" in p]
    assert not [p for p in files if "aws-lambda-rie" in p]
    config = docker_client.images.get(tag).attrs["Config"]
    assert config["Entrypoint"] == ["/var/task/bootstrap"]
    assert config["User"] == "65532:65532"
    if base == "scratch":
        size = docker_client.images.get(tag).attrs["Size"]
        ca = files[CA_BUNDLE]
        assert ca is not None
        assert 0 <= size - len(binary) - len(ca) < 16 * 1024, (size, len(binary), len(ca))
        assert sorted(p for p, c in files.items() if c) == [CA_BUNDLE, "/var/task/bootstrap"]

    # up (builds dev), then every example of the manifest through the gateway
    up = start_up(project, "--no-watch", base=base)
    up.wait_ready()
    for example in manifest.examples:
        event = (project / str(example["event"])).read_bytes()
        response = httpx.post(up.invoke_url, content=event, timeout=60)
        assert response.status_code == 200, (example, response.text)
        if example.get("error"):
            body = response.json()
            assert str(example["expect"]) in body["errorMessage"], (example, body)
        else:
            assert same_json(response.content, str(example["expect"])), (example["event"], response.text)

    # and the user's path: `lambdadev invoke` with the manifest's default event
    default = f"events/{manifest.default_event}.json"
    invoked = run_lambdadev("invoke", default, "--port", str(up.port), "--raw", cwd=project, env=env)
    expected = next(e for e in manifest.examples if e["event"] == default)
    assert invoked.returncode == (1 if expected.get("error") else 0), invoked.stderr.decode()
    if not expected.get("error"):
        assert same_json(invoked.stdout, str(expected["expect"]))
    assert up.stop() == 0


@pytest.fixture(scope="module")
def distroless_arm64(docker_client, standin_images) -> str:
    """A linux/arm64 stand-in for distroless (COPY-only, so no emulation is needed to build it)."""
    tag = "lambdadev-standin/distroless-static:nonroot-arm64"
    passwd = (
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )
    dockerfile = "FROM scratch\nCOPY ca.crt /etc/ssl/certs/ca-certificates.crt\nCOPY passwd /etc/passwd\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("Dockerfile", dockerfile.encode()),
            ("ca.crt", Path(standins.CA_BUNDLE).read_bytes()),
            ("passwd", passwd.encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    for chunk in docker_client.api.build(
        fileobj=buf, custom_context=True, tag=tag, platform="linux/arm64", rm=True, decode=True
    ):
        assert "error" not in chunk, chunk
    assert docker_client.images.get(tag).attrs["Architecture"] == "arm64"
    return tag


@pytest.mark.parametrize("base", ["scratch", "distroless"])
def test_arm64_cross_build(workdir, docker_client, standin_images, distroless_arm64, base: str):
    project = new_project(
        workdir, f"arm-{base}", "--arch", "arm64", "--module", f"{MODULE_PREFIX}/hello", base=base
    )
    env = lambdadev_env(base)
    if base == "distroless":
        env["LAMBDADEV_BUILD_ARGS"] = f"GO_IMAGE={standins.go_image()} BASE_IMAGE={distroless_arm64}"
    result = run_lambdadev("build", "--target", "production", cwd=project, env=env)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    tag = result.stdout.decode().split("\t")[0]
    attrs = docker_client.images.get(tag).attrs
    assert (attrs["Os"], attrs["Architecture"]) == ("linux", "arm64")
    binary = image_files(docker_client, tag)["/var/task/bootstrap"]
    assert binary is not None and elf_arch(binary) == "arm64"

    if base == "scratch":
        # release is production; dev runs on this machine, and lambdadev says so
        release = run_lambdadev("build", cwd=project, env=env)
        assert release.returncode == 0, release.stderr.decode()[-3000:]
        release_tag = release.stdout.decode().split("\t")[0]
        assert docker_client.images.get(release_tag).attrs["Architecture"] == "arm64"
        dev = run_lambdadev("build", "--target", "dev", cwd=project, env=env)
        assert dev.returncode == 0, dev.stderr.decode()[-3000:]
        assert "dev runs natively" in dev.stderr.decode()
        dev_tag = dev.stdout.decode().split("\t")[0]
        assert docker_client.images.get(dev_tag).attrs["Architecture"] == "amd64"
        dev_binary = image_files(docker_client, dev_tag)["/var/task/bootstrap"]
        assert dev_binary is not None and elf_arch(dev_binary) == "x86_64"


def test_size_table(workdir, docker_client, standin_images):
    project = workdir / "hello-al2023"
    if not project.is_dir():
        project = new_project(workdir, "hello-al2023", "--module", f"{MODULE_PREFIX}/hello")
    env = lambdadev_env("al2023")
    stand_ins = standins.base_images()
    env["LAMBDADEV_BASE_IMAGES"] = f"al2023={stand_ins['al2023']} distroless={stand_ins['distroless']}"
    result = run_lambdadev("size", "--json", cwd=project, env=env)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    rows = {row["base"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["single-stage", "al2023", "distroless", "scratch"]
    assert rows["al2023"]["image"] == stand_ins["al2023"] and rows["al2023"]["current"]
    assert rows["distroless"]["image"] == stand_ins["distroless"]
    baseline = rows["single-stage"]
    for name in ("al2023", "distroless", "scratch"):
        row = rows[name]
        image = docker_client.images.get(row["tag"])
        assert row["image_size"] == image.attrs["Size"]
        assert row["image_size"] < baseline["image_size"]
        assert row["ratio"] == pytest.approx(row["image_size"] / baseline["image_size"])
        assert row["binary_size"] == len(image_files(docker_client, row["tag"])["/var/task/bootstrap"] or b"")
    # the single-stage image carries the toolchain; its binary is not stripped
    assert baseline["binary_size"] > rows["scratch"]["binary_size"]
    scratch = rows["scratch"]
    ca_size = len(image_files(docker_client, scratch["tag"])[CA_BUNDLE] or b"")
    assert 0 <= scratch["image_size"] - scratch["binary_size"] - ca_size < 16 * 1024
    assert scratch["inside"] == "bootstrap, CA bundle"

    # without --json and without a terminal: the plain table (the builds are cached now)
    plain = run_lambdadev("size", "--base", "scratch", cwd=project, env=env)
    assert plain.returncode == 0
    lines = plain.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["base", "from", "image"]
    assert [line.split()[0] for line in lines[2:4]] == ["single-stage", "scratch"]

    bad = run_lambdadev("size", "--base", "alpine", cwd=project, env=env)
    assert bad.returncode == 2 and b"unknown base 'alpine'" in bad.stderr
