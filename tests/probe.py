"""The probe test function (tests/functions/probe) as a lambdadev project, made once per test session.

``lambdadev new probe`` (hello template: its go.mod/go.sum already require
aws-lambda-go, whose ``events`` package the probe uses), then the probe's
main.go replaces the greeting. Each ``lambdadev up`` of it rebuilds the dev
image from the Docker layer cache, so only the first one compiles Go.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import new_project

PROBE_SRC = Path(__file__).parent / "functions" / "probe" / "main.go"
_made: dict[str, Path] = {}


def probe_project(tmp_path_factory: pytest.TempPathFactory, timeout: int = 2, slot: str = "a") -> Path:
    """A function folder holding the probe, with the given function timeout (seconds).

    Folders of different ``slot`` are different functions (``up`` of one does not
    remove the containers of another) with the same files, so their images share
    the Docker layer cache.
    """
    key = f"probe-{timeout}-{slot}"
    if key not in _made:
        parent = tmp_path_factory.mktemp(key)
        project = new_project(parent, "probe", base="scratch")
        shutil.copy(PROBE_SRC, project / "main.go")
        (project / "main_test.go").unlink(missing_ok=True)
        config = project / "lambdadev.toml"
        text = config.read_text().replace("timeout = 10", f"timeout = {timeout}")
        assert f"timeout = {timeout}" in text
        config.write_text(text)
        _made[key] = project
    return _made[key]
