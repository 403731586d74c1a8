"""The examples the READMEs show run as written."""

import re
import runpy
from pathlib import Path

import pytest

from tests.documents import REPO_ROOT


def test_the_brtp_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    readme = (REPO_ROOT / "BRTP" / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    script = tmp_path / "example.py"
    script.write_text(code.group(1))
    monkeypatch.chdir(REPO_ROOT)
    names = runpy.run_path(str(script))
    assert list(names["result"].kpis_frame().index) == [0.0, 0.5, 1.0]
    assert set(names["series"]) == {"AUW_vs_GAMMA", "UW_BAR", "FLEX_REVENUES", "FLEX_QUANTITY", "FINAL_ECC"}
    assert names["table"]["GAMMA"] == [0.0, 0.5, 1.0]
    assert "AUW" in capsys.readouterr().out
