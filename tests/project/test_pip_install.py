"""`pip install .` in a clean clone gives the BRTP package and the `brtp` command, in a fresh virtualenv."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.documents import REPO_ROOT

pytestmark = pytest.mark.integration


def run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def test_pip_install_in_a_clean_clone_gives_a_working_brtp_command(tmp_path: Path) -> None:
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    cloned = run(["git", "clone", "--quiet", REPO_ROOT, clone])
    assert cloned.returncode == 0, cloned.stderr
    assert run([sys.executable, "-m", "venv", venv]).returncode == 0
    # The pinned versions the project is tested with; pip's cache makes this quick after the first time.
    installed = run([venv / "bin" / "pip", "install", "--quiet", clone, "-c", clone / "constraints.txt"], timeout=1200)
    assert installed.returncode == 0, installed.stderr[-3000:]
    out = tmp_path / "results"
    priced = run(
        [venv / "bin" / "brtp", "run", clone / "docs" / "samples" / "portfolio.zip", "--flex-request",
         "flex_request_1_Medium", "--gammas", "0.5,1", "--margin", "0.2", "--out", out],
        cwd=tmp_path,
    )  # fmt: skip
    assert priced.returncode == 0, priced.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["raw_data"]["GAMMA"] == [0.0, 0.5, 1.0] and len(result["raw_data"]["USERS"]) == 30
    assert (out / "report.html").stat().st_size > 10_000
    # python -m BRTP is the same command; bad input is exit 2 with the message on stderr
    refused = run([venv / "bin" / "python", "-m", "BRTP", "validate", tmp_path / "missing.xlsx"], cwd=tmp_path)
    assert refused.returncode == 2 and "no such file or folder" in refused.stderr and "Traceback" not in refused.stderr
    # the wheel is the algorithm only: no service code, no web or queue packages pulled in
    listed = run([venv / "bin" / "pip", "list", "--format", "json"])
    packages = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "flexgrid-pricing" in packages and "celery" not in packages and "connexion" not in packages
