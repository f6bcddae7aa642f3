"""deploy/kubernetes: the base and both overlays, rendered (tests/deploy/kustomize.py, the
kustomize features they use), validate against the Kubernetes API schemas
(kubernetes-validate, strict: unknown fields are errors), and every pod runs under the
restricted Pod Security Standard with resources, and the daemon with its probes.

Custom resources (the Prometheus Operator's PodMonitor) have no schema in
kubernetes-validate: they are parsed and checked here by hand, not against a schema.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError

from mappings.loader import load_mappings, mapping_files
from tests.deploy.kustomize import all_containers, load_documents, pod_spec, render

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
OVERLAYS = ("daemon", "cronjob")
#: The oldest Kubernetes these manifests are for (CronJob timeZone is GA from 1.27).
KUBERNETES_VERSION = "1.29"
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "PodMonitor")}
UID = 10001


def rendered(name: str) -> list[dict[str, Any]]:
    return render(KUBERNETES / ("base" if name == "base" else f"overlays/{name}"))


def _validate(resource: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except SchemaNotFoundError:
        assert (resource["apiVersion"], resource["kind"]) in CUSTOM_KINDS, resource["kind"]


@pytest.mark.parametrize("name", ["base", *OVERLAYS])
def test_every_rendered_resource_validates_against_the_kubernetes_schemas(name: str) -> None:
    resources = rendered(name)
    assert resources
    for resource in resources:
        _validate(resource)
    names = [(r["kind"], r["metadata"]["name"]) for r in resources]
    assert len(names) == len(set(names)), names


def test_the_secret_template_validates_and_holds_only_placeholders() -> None:
    (secret,) = load_documents(KUBERNETES / "secret.example.yaml")
    _validate(secret)
    assert secret["metadata"]["name"] == "okrsync-credentials"
    for key, value in secret["stringData"].items():
        assert key.startswith("okrsync_") and key == key.lower(), key
        assert re.search(r"<[a-z-]+>", value), f"{key} holds a value, not a placeholder"


def test_the_daemon_overlay_runs_two_replicas_with_a_service_monitor_and_budget() -> None:
    resources = rendered("daemon")
    kinds = {r["kind"]: r for r in resources}
    assert set(kinds) >= {"Deployment", "Service", "PodMonitor", "PodDisruptionBudget"}
    assert {r["metadata"].get("namespace") for r in resources} == {"okrsync"}
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (
        deployment["spec"]["selector"]["matchLabels"],
        kinds["Service"]["spec"]["selector"],
        kinds["PodMonitor"]["spec"]["selector"]["matchLabels"],
        kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items(), selector
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    (endpoint,) = kinds["PodMonitor"]["spec"]["podMetricsEndpoints"]
    ports = {p["name"]: p["containerPort"] for c in all_containers(resources) for p in c["ports"]}
    assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] in ports

    # Several replicas only with a PostgreSQL state, which the Secret holds.
    (container,) = all_containers(resources)
    (state,) = [e for e in container["env"] if e["name"] == "OKRSYNC_STATE_URL"]
    key = state["valueFrom"]["secretKeyRef"]["key"]
    (secret,) = load_documents(KUBERNETES / "secret.example.yaml")
    assert secret["stringData"][key].startswith("postgresql+psycopg://")
    assert container["args"] == ["daemon"]

    # The patch merged the daemon's settings into the base's ConfigMap.
    (settings,) = [r for r in resources if r["metadata"]["name"] == "okrsync-settings"]
    assert settings["data"]["OKRSYNC_LISTEN"] == f"0.0.0.0:{ports['http']}"
    assert settings["data"]["OKRSYNC_MAPPINGS"] == "/etc/okrsync/mappings"
    grace = float(settings["data"]["OKRSYNC_DAEMON__GRACE_SECONDS"])
    termination = pod_spec(deployment)["terminationGracePeriodSeconds"]  # type: ignore[index]
    assert termination >= grace + 5, "the pod must outlive okrsync's own grace period"


def test_the_cronjob_overlay_never_runs_two_syncs_at_once_and_pushes_its_metrics() -> None:
    resources = rendered("cronjob")
    (cronjob,) = [r for r in resources if r["kind"] == "CronJob"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert not [r for r in resources if r["kind"] in {"Deployment", "Service", "PodMonitor"}]
    (container,) = all_containers(resources)
    args = container["args"]
    assert args[0] == "sync"
    assert "--pushgateway" in args or "--metrics-textfile" in args
    assert pod_spec(cronjob)["restartPolicy"] == "Never"  # type: ignore[index]


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_pod_meets_the_restricted_pod_security_standard(name: str) -> None:
    resources = rendered(name)
    workloads = [r for r in resources if pod_spec(r) is not None]
    assert workloads
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec is not None
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == UID
        assert pod["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        assert not spec.get("hostNetwork") and not spec.get("hostPID")
        volumes = {v["name"]: v for v in spec["volumes"]}
        for volume in volumes.values():
            assert "hostPath" not in volume
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"]["type"] == "RuntimeDefault"
            assert not context.get("privileged")
            resources_ = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources_[kind]), (kind, resources_)
            # The root filesystem is read-only: /tmp is an emptyDir, the rest read-only.
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
            for path in ("/etc/okrsync/mappings", "/run/secrets/okrsync"):
                assert mounts[path]["readOnly"] is True
            settings = _settings(resources)
            assert settings["OKRSYNC_SECRETS_DIR"] == "/run/secrets/okrsync"
            assert settings["OKRSYNC_MAPPINGS"] == "/etc/okrsync/mappings"
            assert container["image"].split(":")[0].endswith("okrsync")
            assert ":" in container["image"], "a tagged image"


def test_the_daemon_probes_liveness_readiness_and_startup() -> None:
    (deployment,) = [r for r in rendered("daemon") if r["kind"] == "Deployment"]
    spec = pod_spec(deployment)
    assert spec is not None
    for container in spec["containers"]:
        probes = {
            kind: container[kind]["httpGet"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes["startupProbe"]["path"] == "/healthz"
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert {p["port"] for p in probes.values()} == {"http"}


def _settings(resources: list[dict[str, Any]]) -> dict[str, str]:
    (settings,) = [r for r in resources if r["metadata"]["name"] == "okrsync-settings"]
    return dict(settings["data"])


def test_the_mappings_config_map_holds_valid_mappings(tmp_path: Path) -> None:
    """Mounted as Kubernetes mounts a ConfigMap (files as links into a hidden ``..data``
    folder), the mappings load as they are, each file once."""
    (config_map,) = [r for r in rendered("base") if r["metadata"]["name"] == "okrsync-mappings"]
    data = tmp_path / "..2026_12_05_00_00_00.000000001"
    data.mkdir()
    (tmp_path / "..data").symlink_to(data.name)
    for key, text in config_map["data"].items():
        (data / key).write_text(text, encoding="utf-8")
        (tmp_path / key).symlink_to(f"..data/{key}")
    assert [p.name for p in mapping_files(tmp_path)] == sorted(config_map["data"])
    tree = load_mappings(tmp_path)
    assert tree.objectives


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_pods_settings_and_secret_keys_are_settings_okrsync_accepts(
    name: str, tmp_path: Path
) -> None:
    """The pod's environment (the settings ConfigMap, OKRSYNC_STATE_URL from the Secret) and
    the Secret's files, placeholders filled in: ``okrsync config show`` accepts them all
    (settings are closed: a misspelt key would be refused)."""
    resources = rendered(name)
    (container,) = all_containers(resources)
    (secret,) = load_documents(KUBERNETES / "secret.example.yaml")
    values = {
        key: re.sub(r"<([a-z-]+)>", r"\1", value) for key, value in secret["stringData"].items()
    }
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for key, value in values.items():
        (secrets / key).write_text(value, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **_settings(resources)}
    for variable in container.get("env", []):
        env[variable["name"]] = values[variable["valueFrom"]["secretKeyRef"]["key"]]
    env["OKRSYNC_SECRETS_DIR"] = str(secrets)
    env["OKRSYNC_MAPPINGS"] = str(KUBERNETES / "base" / "mappings")
    shown = subprocess.run(
        [sys.executable, "-m", "okrsync", "config", "show"],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "postgresql+psycopg://" in shown.stdout
    assert "jira-api-token" not in shown.stdout  # secrets masked
