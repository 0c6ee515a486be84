"""Generated requests from the OpenAPI document never make the API fail with a server error.

The admin token reaches every operation; the draft's schema example seeds valid checks, which
schemathesis then mutates, alongside the malformed bodies and parameters it makes up itself.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from .conftest import Tokens

EXAMPLES_PER_OPERATION = 8


@schemathesis.serializer("message/rfc822")
def _rfc822(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case: Any, tokens: Tokens) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {tokens.admin}"}, checks=[not_a_server_error]
    )
