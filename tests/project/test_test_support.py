"""The test suite's own guards: what must exist in CI fails there instead of skipping."""

from pathlib import Path

import pytest

from tests.documents import require_shared


def test_a_missing_shared_file_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="is absent"):
        require_shared(tmp_path / "missing.xlsx")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="is absent"):
        require_shared(tmp_path / "missing.xlsx")
    assert require_shared(tmp_path) == tmp_path
