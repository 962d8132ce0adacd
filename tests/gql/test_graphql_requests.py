"""Malformed GraphQL requests get a clear 4xx, never a 500 (found by the OpenAPI fuzz run):
an empty document, a blank one, and an operation name the document does not have."""

from __future__ import annotations

GRAPHQL = "/api/v1/graphql"


async def test_empty_blank_and_unknown_operations_are_refused_clearly(client, auth_headers):
    headers = await auth_headers("viewer")
    empty = await client.post(GRAPHQL, json={"query": "", "operationName": ""}, headers=headers)
    assert empty.status_code == 422 and empty.json()["error"] == "validation_failed"
    blank = await client.post(GRAPHQL, json={"query": " "}, headers=headers)
    assert blank.status_code == 400
    assert blank.json()["errors"][0]["extensions"]["code"] == "graphql_validation"
    query = "query Sites { sites { id } }"
    unknown = await client.post(
        GRAPHQL, json={"query": query, "operationName": "Nope"}, headers=headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"]["code"] == "unknown_operation"
    unnamed = await client.post(
        GRAPHQL, json={"query": query, "operationName": ""}, headers=headers
    )
    assert unnamed.status_code == 200 and unnamed.json() == {"data": {"sites": []}}
