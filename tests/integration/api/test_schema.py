"""Property-based checks of the API against its own OpenAPI schema (schemathesis).

Bounded: a fixed number of generated requests per operation, no shrinking or example
database, so the module runs in well under a minute. Any 5xx, or a response that does not
match the schema (status, media type, body, headers), fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance

from .support import Served

pytestmark = pytest.mark.integration

EXAMPLES = 30  # generated requests per operation


def test_api_conforms_to_its_schema(api: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/bars/{symbol}", "/runs", "/quality", "/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            # from/to are ISO text: the schema cannot say that 2021-02-30 is not a day, so a
            # "schema-valid" date may rightly be refused with a 422. Every other check runs.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
