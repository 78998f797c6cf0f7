"""The seed's path for real: new → build (each target) → up → curl/invoke → SIGTERM.

Real Docker engine, real Go build inside the Dockerfile, real RIE.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_project, project_containers, run_lambdadev

pytestmark = pytest.mark.docker

SEED_OUTPUT = {"statusCode": 200, "body": "Hello from Lambda! :)"}
FAILING_MAIN = """package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
)

func handler(_ context.Context, _ json.RawMessage) (string, error) {
	return "", errors.New("boom: no greeting today")
}

func main() {
	lambda.Start(handler)
}
"""


@pytest.fixture(scope="module")
def hello(tmp_path_factory, standin_images) -> Path:
    return new_project(tmp_path_factory.mktemp("foundation"), "hello")


def image_files(client, ref: str) -> set[str]:
    """Every path in the image's filesystem (from a created, never started container)."""
    container = client.containers.create(ref)
    try:
        export = b"".join(container.export())
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(export)) as tar:
        return {"/" + m.name.lstrip("./") for m in tar.getmembers()}


def test_build_each_target(hello, docker_client):
    sizes = {}
    for target, tag in (
        ("production", "lambdadev/hello:production"),
        ("dev", "lambdadev/hello:dev"),
        ("release", "lambdadev/hello:latest"),
    ):
        result = run_lambdadev("build", "--target", target, cwd=hello)
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        printed_tag, printed_size = result.stdout.decode().strip().split("\t")
        assert printed_tag == tag
        image = docker_client.images.get(tag)
        assert int(printed_size) == image.attrs["Size"]
        sizes[target] = image.attrs["Size"]
    # release is the production image: same layers, same size
    assert (
        docker_client.images.get("lambdadev/hello:latest").id
        == docker_client.images.get("lambdadev/hello:production").id
    )
    assert sizes["dev"] > sizes["production"]

    production = image_files(docker_client, "lambdadev/hello:production")
    dev = image_files(docker_client, "lambdadev/hello:dev")
    assert "/var/task/bootstrap" in production
    assert not any("aws-lambda-rie" in p for p in production)
    assert not any(p.startswith("/usr/local/go") or p.endswith("/bin/go") for p in production)
    assert not any(p.endswith(".go") for p in production)
    assert "/usr/local/bin/aws-lambda-rie" in dev


def test_build_reports_plain_progress_on_stderr(hello):
    result = run_lambdadev("build", "--target", "production", cwd=hello)
    assert result.returncode == 0
    err = result.stderr.decode()
    assert "Step " in err  # the classic builder's own lines, streamed
    assert "built lambdadev/hello:production" in err
    assert result.stdout.decode().count("\n") == 1  # stdout is data only


def test_up_serves_the_seed_request_and_cleans_up(hello, start_up, docker_client):
    up = start_up(hello)
    up.wait_ready()
    # the seed article's exact request
    resp = httpx.post(up.invoke_url.replace("127.0.0.1", "localhost"), content=b"{}", timeout=30)
    assert resp.status_code == 200
    assert resp.json() == SEED_OUTPUT
    assert resp.content == json.dumps(SEED_OUTPUT, separators=(",", ":")).encode()

    result = run_lambdadev("invoke", "events/hello.json", "--port", str(up.port), cwd=hello)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == SEED_OUTPUT
    assert result.stdout.strip() == resp.content  # piped: unchanged bytes

    assert project_containers(docker_client, hello), "up should be running a container"
    assert up.stop(signal.SIGTERM) == 0, up.output()
    assert project_containers(docker_client, hello) == []


def test_up_on_scratch(tmp_path, start_up, docker_client):
    project = new_project(tmp_path, "hello-scratch", base="scratch")
    with start_up(project, base="scratch") as up:
        resp = httpx.post(up.invoke_url, content=b"{}", timeout=30)
        assert resp.json() == SEED_OUTPUT
    assert up.proc.returncode == 0
    assert project_containers(docker_client, project) == []


def test_function_error_exits_1(hello, tmp_path, start_up):
    project = tmp_path / "failing"
    shutil.copytree(hello, project)
    (project / "main.go").write_text(FAILING_MAIN)
    with start_up(project) as up:
        result = run_lambdadev("invoke", "-d", "{}", "--port", str(up.port), cwd=project)
    assert result.returncode == 1, result.stderr.decode()
    payload = json.loads(result.stdout)
    assert payload["errorMessage"] == "boom: no greeting today"
    assert "errorType" in payload
    assert "function error" in result.stderr.decode()
