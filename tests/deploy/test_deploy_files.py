"""The deployment files (#20 item 8) are valid and name only real settings: the Kubernetes
manifests against the Kubernetes 1.30 schema, every ``GRIDPILOT_*`` variable of the Compose
stack, the Dockerfile, the example environment and the manifests against ``Settings``, and
every file the Compose stack mounts from the repository exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from gridpilot.core.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VARIABLE = re.compile(r"\bGRIDPILOT_([A-Z0-9_]+)\b")
#: Variables of the stack that are not gridpilot settings (they fill other containers).
NOT_SETTINGS = {"HOSTNAME"}


def _manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                docs.append((path.name, doc))
    return docs


@pytest.mark.parametrize(("name", "manifest"), _manifests(), ids=lambda v: str(v)[:40])
def test_kubernetes_manifests_follow_the_1_30_schema(name, manifest):
    kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_a_broken_manifest_is_refused():
    broken = dict(_manifests()[0][1])
    broken["spec"] = {"replicas": "two"}  # the validator must catch what we would get wrong
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example():
    listed = set(yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files - {"secret.example.yaml"}


def test_every_gridpilot_variable_is_a_setting():
    fields = set(Settings.model_fields)
    files = [*DEPLOY.glob("compose/*"), *DEPLOY.glob("k8s/*.yaml"), DEPLOY / "Dockerfile"]
    unknown = {
        f"{path.name}: GRIDPILOT_{name}"
        for path in files
        if path.is_file()
        for name in VARIABLE.findall(path.read_text())
        if name.lower() not in fields and name not in NOT_SETTINGS
    }
    assert not unknown, unknown


def test_the_compose_stack_has_the_topology_and_its_mounted_files():
    stack = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    services = stack["services"]
    assert {"api-1", "api-2", "ingest-1", "ingest-2", "postgres", "redis", "mosquitto"} <= set(
        services
    )
    assert {"proxy", "prometheus", "grafana", "migrate"} <= set(services)
    assert services["ingest-1"]["command"] != services["ingest-2"]["command"]  # own client ids
    mounts = [
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith(("./", "../"))
    ]
    operator_made = {"./mqtt"}  # the broker's certificates and `gridpilot mqtt-auth export`
    missing = [
        m for m in mounts if m not in operator_made and not (DEPLOY / "compose" / m).exists()
    ]
    assert not missing, missing
    example = (DEPLOY / "compose" / ".env.example").read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+)\}", (DEPLOY / "compose" / "compose.yaml").read_text()))
    assert needed <= set(re.findall(r"^([A-Z_]+)=", example, re.M)), needed


def _compose_errors(document: dict) -> list[str]:
    """Errors of ``document`` against the Compose specification's JSON schema (vendored:
    docker/compose 1.29.2 ``compose/config/compose_spec.json``, Apache-2.0)."""
    schema = json.loads((Path(__file__).with_name("compose_spec.json")).read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification():
    stack = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    assert _compose_errors(stack) == []
    broken = {**stack, "services": {**stack["services"], "api-1": {"restart": 3, "ports": {}}}}
    assert _compose_errors(broken)  # the schema catches what we would get wrong
