"""Observability (#20 item 7): /metrics carries process, GC, database and disk series, and the
provisioned Prometheus rules and Grafana dashboard only name series that /metrics exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gridpilot.db.query_timing import statement_kind

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERIES = re.compile(r"\b((?:gridpilot|process|python)_[a-z_]+)\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


async def _exposition(client, auth_headers) -> tuple[dict[str, float], set[str]]:
    headers = await auth_headers("viewer")
    assert (await client.get("/api/v1/sites", headers=headers)).status_code == 200
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200
    families = list(text_string_to_metric_families(response.text))
    samples = {}
    for family in families:
        for sample in family.samples:
            label = sample.labels.get("statement", "")
            samples[sample.name + (f"/{label}" if label else "")] = sample.value
            samples.setdefault(sample.name, sample.value)
    return samples, {f.name for f in families}


async def test_metrics_carry_process_gc_database_and_disk_series(client, auth_headers):
    samples, _ = await _exposition(client, auth_headers)
    assert samples["process_resident_memory_bytes"] > 10e6  # a Python web app: tens of MB
    assert samples["process_open_fds"] > 0 and samples["process_max_fds"] > 0
    assert "process_cpu_seconds_total" in samples
    assert "python_gc_collections_total" in samples
    assert 0 < samples["gridpilot_data_dir_disk_used_ratio"] < 1
    assert samples["gridpilot_memory_limit_bytes"] > samples["process_resident_memory_bytes"]
    # the sites query above was timed as a select (and the histogram counts it)
    assert samples["gridpilot_db_query_seconds_count/select"] >= 1


def _exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "gridpilot.json").read_text())
    return exprs + [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


async def test_rules_and_dashboard_name_only_exported_series(client, auth_headers):
    samples, families = await _exposition(client, auth_headers)
    names = set(samples) | families
    missing = set()
    for expr in _exprs():
        for series in SERIES.findall(expr):
            base = next((series[: -len(s)] for s in SUFFIXES if series.endswith(s)), series)
            if series not in names and base not in families:
                missing.add(series)
    assert not missing, missing


def test_the_seeds_alert_thresholds_are_provisioned():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    by_name = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert by_name["GridpilotHighErrorRate"].rstrip().endswith("> 0.05")  # error rate > 5 %
    assert by_name["GridpilotSlowRequests"].rstrip().endswith("> 0.5")  # p95 > 500 ms
    for resource in ("GridpilotHighCpu", "GridpilotHighMemory", "GridpilotOpenFiles"):
        assert by_name[resource].rstrip().endswith("> 0.8")  # resources > 80 %
    assert by_name["GridpilotDiskFull"].rstrip().endswith("> 0.8")


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT 1", "select"),
        ("  insert into t values (1)", "insert"),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "insert"),
        ("with a as (select (1)), b as (delete from t returning *) select * from b", "select"),
        ("UPDATE t SET v = 1", "update"),
        ("BEGIN", "other"),
        ("", "other"),
    ],
)
def test_statement_kind_names_the_verb_outside_the_ctes(statement, kind):
    assert statement_kind(statement) == kind
