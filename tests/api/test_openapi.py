"""The OpenAPI document in the repository is the one the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from missend.api.openapi import render, spec

from .conftest import Api

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_checked_in_document_matches_the_app() -> None:
    assert CHECKED_IN.read_text("utf-8") == render(spec()), (
        "docs/openapi.json is out of date: python -m missend.api.openapi docs/openapi.json"
    )


def test_the_app_serves_the_same_document(api: Api) -> None:
    served = api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(CHECKED_IN.read_text("utf-8"))


def test_every_operation_but_health_and_signed_links_needs_a_token() -> None:
    document = json.loads(CHECKED_IN.read_text("utf-8"))
    open_paths = {"/healthz", "/v1/holds/release", "/v1/holds/cancel"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured == (path not in open_paths), (method, path)
    draft = document["components"]["schemas"]["DraftIn"]
    assert "from" in draft["properties"]
    body = document["paths"]["/v1/check"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "message/rfc822"}
