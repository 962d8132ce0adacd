"""GET /metrics: authenticated, Prometheus text, latency histogram labelled by route template."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from tests.api.ops_probe import PROBE_TEMPLATE, add_probe_route


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_metrics_requires_authentication(client):
    response = await client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


async def test_metrics_accepts_a_viewer_token(client, auth_headers):
    response = await client.get("/metrics", headers=await auth_headers("viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "gridpilot_http_request_duration_seconds",
        "gridpilot_readings_ingested",
        "gridpilot_readings_rejected",
        "gridpilot_writer_queue_depth",
        "gridpilot_writer_batch_seconds",
        "gridpilot_writer_batch_rows",
    } <= names


async def test_histogram_is_labelled_by_route_template(app, client, auth_headers):
    add_probe_route(app)
    headers = await auth_headers("viewer")
    for thing_id in (11, 12, 13):
        assert (
            await client.get(f"/api/v1/ops-probe/{thing_id}", headers=headers)
        ).status_code == 200
    assert (await client.get("/api/v1/ops-probe/14")).status_code == 401
    assert (await client.get("/nowhere/98765")).status_code == 404

    text = (await client.get("/metrics", headers=headers)).text
    counts = {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in samples(text, "gridpilot_http_request_duration_seconds_count")
    }
    assert counts[("GET", PROBE_TEMPLATE, "200")] == 3
    assert counts[("GET", PROBE_TEMPLATE, "401")] == 1
    assert counts[("GET", "<unmatched>", "404")] == 1
    assert "98765" not in text and "/api/v1/ops-probe/1" + "1" not in text
