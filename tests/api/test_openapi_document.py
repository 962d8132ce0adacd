"""The OpenAPI document tells the truth about error answers (api.openapi): 422 is the body the API
sends, 401/403/404/409/413/415/429 are declared where they can occur, and the framework's own
refusals (unknown path, wrong method, unparsable body) come in the documented error body, with
every method of the path in ``Allow``."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the document's components, so that its ``$ref``s resolve."""
    return {**schema, "components": document["components"]}


def answer_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict:
    answer = document["paths"][path][method]["responses"][str(status)]
    return _resolved(document, answer["content"]["application/json"]["schema"])


@pytest.fixture
def document(app) -> dict[str, Any]:
    return dict(app.openapi())


def test_no_operation_documents_fastapis_validation_body(document):
    assert "HTTPValidationError" not in str(document)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            answer = operation["responses"].get("422")
            if answer is not None:
                assert "#/components/schemas/Error" in str(answer), (method, path)


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/sites", {"401", "403", "429", "503"}),
        ("get", "/api/v1/sites/{site_id}", {"401", "403", "404", "422"}),
        ("delete", "/api/v1/sites/{site_id}", {"404", "409"}),
        ("post", "/api/v1/sites", {"400", "409", "413", "415", "422"}),
        ("post", "/api/v1/notification-channels", {"404", "409"}),  # site_id in the body
        ("get", "/api/v1/assets/{asset_id}/series", {"404", "413"}),  # a period over the cap
        ("post", "/api/v1/telemetry", {"207", "413", "415", "422"}),
    ],
)
def test_error_answers_are_declared_where_they_occur(document, method, path, statuses):
    declared = set(document["paths"][path][method]["responses"])
    assert statuses <= declared, statuses - declared


def test_list_operations_declare_no_404(document):
    assert "404" not in document["paths"]["/api/v1/sites"]["get"]["responses"]


async def test_answers_match_their_declared_schemas(app, client, auth_headers, document):
    headers = await auth_headers("administrator")
    cases = [
        ("get", "/api/v1/sites/{site_id}", "/api/v1/sites/987654", None, 404),
        ("post", "/api/v1/sites", "/api/v1/sites", {"name": 5}, 422),
        ("post", "/api/v1/telemetry", "/api/v1/telemetry", {"readings": "x"}, 422),
        ("post", "/api/v1/telemetry", "/api/v1/telemetry", [{"asset": 987654}], 422),
    ]
    for method, template, path, body, status in cases:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, response.text
        schema = answer_schema(document, method, template, status)
        jsonschema_rs.validate(schema, response.json())
    anonymous = await client.get("/api/v1/sites")
    assert anonymous.status_code == 401
    jsonschema_rs.validate(answer_schema(document, "get", "/api/v1/sites", 401), anonymous.json())


async def test_wrong_method_is_405_with_every_method_of_the_path(client, auth_headers):
    headers = await auth_headers("administrator")
    for path, allowed in [
        ("/api/v1/sites/1", "DELETE, GET, PATCH"),
        ("/api/v1/sites", "GET, POST"),
        ("/api/v1/users/me", "GET, PATCH"),  # not DELETE /users/{user_id} with user_id "me"
    ]:
        response = await client.request("PUT", path, headers=headers)
        assert response.status_code == 405, (path, response.text)
        assert response.headers["allow"] == allowed
        assert response.json()["error"] == "method_not_allowed"
    deleted_me = await client.delete("/api/v1/users/me", headers=headers)
    assert deleted_me.status_code == 405 and deleted_me.headers["allow"] == "GET, PATCH"


async def test_framework_refusals_use_the_error_body(client, auth_headers):
    headers = await auth_headers("administrator")
    unknown = await client.get("/api/v1/no-such-thing", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    unparsable = await client.post(
        "/api/v1/sites",
        content=b'{"name": ',
        headers={**headers, "content-type": "application/json"},
    )
    assert unparsable.status_code in (400, 422), unparsable.text
    assert set(unparsable.json()) >= {"error", "message"}
