"""docker-compose.yml is valid against the Compose Specification (no Docker engine here to run it)."""

import json

import jsonschema
import yaml

from tests.documents import REPO_ROOT


def test_compose_file_matches_the_compose_spec() -> None:
    schema = json.loads((REPO_ROOT / "tests" / "fixtures" / "compose_spec.json").read_text())
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    assert set(services) == {"redis", "api", "worker", "callbacks", "flower"}
    assert services["callbacks"]["command"][3:7] == ["worker", "--queues", "pricing-callbacks", "--pool"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["api"]["command"][:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    for name in ("api", "worker", "flower"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_dockerfile_runs_as_non_root_and_serves_the_api() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER pricing" in dockerfile
    assert 'CMD ["python", "-m", "swagger_server"]' in dockerfile
