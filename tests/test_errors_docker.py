"""The error cases of the foundation: message, hint, exit code, nothing left behind."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import lambdadev_env, new_project, project_containers, run_lambdadev


def error_lines(result) -> tuple[str, str]:
    lines = result.stderr.decode().strip().splitlines()
    error = next(line for line in lines if line.startswith("lambdadev: error: "))
    hint = next(line for line in lines if line.startswith("hint: "))
    return error, hint


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return new_project(tmp_path_factory.mktemp("errors"), "errs")


def test_docker_unreachable_exits_3(project, tmp_path):
    env = lambdadev_env(DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    result = run_lambdadev("build", cwd=project, env=env)
    assert result.returncode == 3
    error, hint = error_lines(result)
    assert "cannot reach Docker" in error and "no-docker.sock" in error
    assert "DOCKER_HOST" in hint and "dockerd" in hint


@pytest.mark.docker
def test_port_in_use_exits_3_before_building(project, docker_client):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_lambdadev("up", "--port", str(port), cwd=project, timeout=60)
    assert result.returncode == 3
    error, hint = error_lines(result)
    assert f"port {port}" in error and "in use" in error
    assert "--port" in hint
    assert "Step " not in result.stderr.decode()  # failed before any build
    assert project_containers(docker_client, project) == []


@pytest.mark.parametrize("command", [["build"], ["up"], ["down"]])
def test_outside_a_function_folder_exits_2(tmp_path, command):
    result = run_lambdadev(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr.decode()
    error, hint = error_lines(result)
    assert "not inside a function folder" in error
    assert "lambdadev new" in hint


def test_new_into_non_empty_folder_exits_2_and_writes_nothing(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run_lambdadev("new", "taken", cwd=tmp_path)
    assert result.returncode == 2
    error, hint = error_lines(result)
    assert "not empty" in error and "--force" in hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine"


def test_invoke_bad_json_exits_2_without_sending(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        result = run_lambdadev("invoke", "-d", "{not json", "--port", str(port), cwd=tmp_path)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing was sent
    assert result.returncode == 2
    error, _ = error_lines(result)
    assert "not valid JSON" in error


def test_invoke_nothing_listening_exits_3(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_lambdadev("invoke", "-d", "{}", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 3
    error, hint = error_lines(result)
    assert "nothing answers" in error and "lambdadev up" in hint
