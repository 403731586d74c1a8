"""What the docs promise about the code's shape holds: model sections, settings, modules, lint commands, version."""

import re
import tomllib
from pathlib import Path

import pytest

from BRTP import __version__
from swagger_server.core.settings import Settings
from tests.documents import REPO_ROOT

PACKAGES = ("BRTP", "swagger_server", "workers")


def source_files() -> list[Path]:
    return sorted(p for package in (*PACKAGES, "tests", "bench") for p in (REPO_ROOT / package).rglob("*.py"))


def test_every_cited_model_section_exists_in_docs_model_md() -> None:
    model = (REPO_ROOT / "docs" / "model.md").read_text()
    sections = {int(n) for n in re.findall(r"^## §(\d+) ", model, re.M)}
    seven = model[model.index("## §7 ") :]
    properties = {int(n) for n in re.findall(r"^(\d+)\. ", seven, re.M)}
    cited = {m for p in source_files() for m in re.findall(r"§ ?(\d+(?:\.\d+)?)", p.read_text())}
    assert cited, "no section citations found: the scan is broken"
    for citation in sorted(cited):
        number, _, item = citation.partition(".")
        assert int(number) in sections, f"§{citation} is cited but docs/model.md has no section §{number}"
        if item:
            assert int(item) in properties, f"§{citation} is cited but §{number} has no item {item}"


def test_every_setting_is_documented_in_env_example_and_nothing_else() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "settings missing from .env.example"
    assert documented - settings == set(), ".env.example documents variables no setting reads"


def test_readme_architecture_table_lists_every_module_once() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme[readme.index("| # | module |") :]
    table = table[: table.index("\n\n")]
    listed = re.findall(r"^\| \d+ \| `([^`]+)` \|", table, re.M)
    modules = sorted(
        str(p.relative_to(REPO_ROOT))
        for package in PACKAGES
        for p in (REPO_ROOT / package).rglob("*.py")
        if p.name != "__init__.py"
    )
    assert sorted(listed) == modules
    assert len(listed) == len(set(listed))


def lint_commands_of_makefile() -> list[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    block = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    return [line.strip().removeprefix("$(BIN)/") for line in block.splitlines()[1:] if line.startswith("\t")]


def test_tox_lint_runs_exactly_make_lint() -> None:
    tox = (REPO_ROOT / "tox.ini").read_text()
    block = tox[tox.index("[testenv:lint]") :]
    commands = [line.strip() for line in block.split("commands =", 1)[1].splitlines() if line.startswith("    ")]
    assert commands == lint_commands_of_makefile()
    assert commands, "no lint commands found"


def test_the_version_is_written_once() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "BRTP.__version__"}
    hits = [p for p in source_files() if re.search(re.escape(f'"{__version__}"'), p.read_text())]
    assert hits == [REPO_ROOT / "BRTP" / "__init__.py"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_reads_the_environment_but_the_settings(package: str) -> None:
    readers = [
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / package).rglob("*.py")
        if re.search(r"os\.environ\b(?!\))|os\.getenv", p.read_text())
    ]
    # The settings module is the one reader (pydantic-settings); the launcher hands its whole environment,
    # ``dict(os.environ)``, to the processes it starts without reading a value from it.
    assert set(readers) <= {"swagger_server/core/settings.py"}
