"""pyproject.toml's dependency ranges and the pinned requirements/constraints agree."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.documents import REPO_ROOT


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (REPO_ROOT / name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s;#]+)", line.strip())
        if match:
            found[canonicalize_name(match.group(1).split("[")[0])] = match.group(2)
    return found


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": [Requirement(r) for r in project["dependencies"]]}
    for extra, requirements in project["optional-dependencies"].items():
        groups[extra] = [Requirement(r) for r in requirements if not r.startswith(project["name"])]
    return groups


def test_every_declared_range_admits_the_pinned_version() -> None:
    pinned = pins("constraints.txt")
    for group, requirements in declared().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{group}: {requirement.name} is not pinned in constraints.txt"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{group}: {requirement} does not admit the pinned {pinned[name]}"
            )


def test_every_pinned_requirement_is_declared_in_pyproject() -> None:
    names = {canonicalize_name(r.name) for group in declared().values() for r in group}
    for requirements_file in ("requirements.txt", "requirements-dev.txt"):
        missing = set(pins(requirements_file)) - names
        assert not missing, f"{requirements_file} pins {sorted(missing)} that pyproject.toml does not declare"
