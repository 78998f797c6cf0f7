"""The catalog's Go decode check (tests/go/eventscheck) run by pytest, so CI runs it.

Every sample in lambdadev/catalog must decode into its aws-lambda-go ``events``
type (strictly: no unknown fields), or the build fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GO = shutil.which("go") or "/usr/local/go/bin/go"
CHECK = Path(__file__).parent / "go" / "eventscheck"


@pytest.mark.go
def test_every_sample_event_decodes_into_its_aws_lambda_go_type():
    if not Path(GO).exists():
        pytest.fail(f"no Go toolchain at {GO}") if os.environ.get("CI") else pytest.skip("no Go toolchain")
    result = subprocess.run(
        [GO, "test", "-count=1", "./..."], cwd=CHECK, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout
