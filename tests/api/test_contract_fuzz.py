"""Property-based requests generated from swagger/pricing.yml (schemathesis): never a server error.

Every operation is called with data generated from the contract (valid and
not); no response may be a 5xx, and every response must match its documented
status codes and schema. Client mistakes must end in a 4xx.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from swagger_server.app import create_app
from tests.services import make_settings

pytestmark = pytest.mark.integration
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def test_no_generated_request_breaks_the_contract(redis_url, service_sample_dir, queue_name) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(redis_url, service_sample_dir, queue_name))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13  # /pricing (6), /datasets (5), /health, /ready
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case) -> None:  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), "Authorization": "Bearer fuzz"}
            case.call_and_validate(checks=CHECKS)

        call()
