"""Settings resolution: flag > LAMBDADEV_* env > lambdadev.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdadev.errors import UsageError
from lambdadev.settings import read_env_file, resolve

TOML = """
name = "fn"
port = 9100
timeout = 7
[env]
FROM_FILE = "file"
SHARED = "file"
[build.args]
GO_IMAGE = "mirror/golang:1.26"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "lambdadev.toml").write_text(TOML)
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    return tmp_path


def test_file_then_defaults(project):
    s = resolve(project, environ={})
    assert (s.name, s.port, s.timeout, s.host, s.memory) == ("fn", 9100, 7, "127.0.0.1", 128)
    assert dict(s.build_args) == {"GO_IMAGE": "mirror/golang:1.26"}


def test_found_from_a_sub_folder(project):
    assert resolve(project / "sub" / "dir", environ={}).root == project.resolve()


def test_env_beats_file_and_flag_beats_env(project):
    env = {"LAMBDADEV_PORT": "9200", "LAMBDADEV_BUILD_ARGS": "GO_IMAGE=env/golang X=1"}
    s = resolve(project, environ=env)
    assert s.port == 9200
    assert dict(s.build_args) == {"GO_IMAGE": "env/golang", "X": "1"}
    s = resolve(project, {"port": 9300}, environ=env, build_arg_pairs=["X=2"])
    assert s.port == 9300
    assert s.build_args["X"] == "2"


def test_env_precedence_file_envfile_flag(project):
    (project / "dev.env").write_text("# comment\nexport SHARED='envfile'\nONLY_ENVFILE=1 # trailing\n")
    s = resolve(project, {"env_file": "dev.env"}, environ={}, env_pairs=["FLAG=yes"])
    assert dict(s.env) == {"FROM_FILE": "file", "SHARED": "envfile", "ONLY_ENVFILE": "1", "FLAG": "yes"}


def test_settings_are_frozen(project):
    s = resolve(project, environ={})
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.env["X"] = "y"  # type: ignore[index]


def test_outside_a_function_folder(tmp_path):
    with pytest.raises(UsageError) as info:
        resolve(tmp_path, environ={})
    assert info.value.exit_code == 2
    assert "lambdadev new" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("flags", "environ", "fragment"),
    [({"port": 70000}, {}, "port"), ({}, {"LAMBDADEV_TIMEOUT": "soon"}, "whole number")],
)
def test_bad_values(project, flags, environ, fragment):
    with pytest.raises(UsageError, match=fragment):
        resolve(project, flags, environ=environ)


def test_bad_pairs(project):
    with pytest.raises(UsageError, match="KEY=VALUE"):
        resolve(project, environ={}, env_pairs=["NOEQUALS"])


def test_env_file_errors_never_echo_values(tmp_path):
    env = tmp_path / "secret.env"
    env.write_text("GOOD=1\nthis line has s3cr3t and no equals\n")
    with pytest.raises(UsageError) as info:
        read_env_file(env)
    assert "s3cr3t" not in info.value.message
    assert ":2:" in info.value.message
