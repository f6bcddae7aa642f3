"""deploy/compose: the compose file validates against the Compose Specification's JSON
schema, every file it mounts exists, Prometheus' configuration passes ``promtool check
config`` with the alert rules it mounts, and Grafana's provisioning points at the compose
file's Prometheus and at the mounted dashboard. (The services themselves run in
test_container.py, from this same file's settings.)

``compose-spec.json`` is the Compose Specification's schema (compose-spec/compose-spec,
``schema/compose-spec.json``, Apache-2.0), as shipped in the npm package ``dclint`` 3.1.0
at ``schemas/compose.schema.json``; copied unchanged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
SCHEMA = Path(__file__).with_name("compose-spec.json")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """A service's bind mounts: target in the container -> source on this machine."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            found[target] = (COMPOSE_DIR / source).resolve()
    return found


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # The schema would catch a typo in a key (services are closed objects).
    broken = compose()
    broken["services"]["okrsync"]["enviroment"] = {}
    assert not validator.is_valid(broken)


def test_okrsync_prometheus_grafana_and_the_sandbox_run_together() -> None:
    services = compose()["services"]
    assert set(services) == {"okrsync", "sandbox", "prometheus", "grafana"}
    okrsync, sandbox = services["okrsync"], services["sandbox"]
    assert sandbox["image"] == okrsync["image"]  # the sandbox ships in the same image
    assert sandbox["command"][:3] == ["sandbox", "--seed", "demo"]
    env = okrsync["environment"]
    assert env["OKRSYNC_LISTEN"] == "0.0.0.0:9464"
    assert env["OKRSYNC_JIRA__CLOUD__URL"].startswith("http://sandbox:")
    assert env["OKRSYNC_TEAMBITION__MAIN__BASE_URL"].startswith("http://sandbox:")
    # A read-only root filesystem: the state in a volume, /tmp a tmpfs.
    for service in (okrsync, sandbox):
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
        assert service["cap_drop"] == ["ALL"]
    assert any(v.endswith(":/var/lib/okrsync") for v in okrsync["volumes"])
    assert int(okrsync["stop_grace_period"].rstrip("s")) > 20  # daemon.grace_seconds


def test_every_mounted_file_exists() -> None:
    for name, service in compose()["services"].items():
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is missing"
    prometheus = bind_mounts(compose()["services"]["prometheus"])
    grafana = bind_mounts(compose()["services"]["grafana"])
    assert REPO / "deploy" / "prometheus" / "okrsync-rules.yaml" in prometheus.values()
    assert REPO / "deploy" / "grafana" / "okrsync-dashboard.json" in grafana.values()


def test_prometheus_scrapes_okrsync_and_loads_the_mounted_rules(tmp_path: Path) -> None:
    prometheus = compose()["services"]["prometheus"]
    mounts = bind_mounts(prometheus)
    config_path = mounts["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["okrsync:9464"]
    for rule_file in config["rule_files"]:
        assert rule_file in mounts, f"{rule_file} is not mounted"
    if not shutil.which("promtool"):
        pytest.skip("promtool is not installed here (make tools installs it)")
    # The configuration as Prometheus sees it in its container: the rules where mounted.
    config["rule_files"] = [str(mounts[r]) for r in config["rule_files"]]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config), encoding="utf-8")
    checked = subprocess.run(
        ["promtool", "check", "config", str(local)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_is_provisioned_with_the_prometheus_datasource_and_the_dashboard() -> None:
    services = compose()["services"]
    mounts = bind_mounts(services["grafana"])
    provisioning = mounts["/etc/grafana/provisioning"]
    (datasources,) = (provisioning / "datasources").glob("*.yaml")
    (source,) = yaml.safe_load(datasources.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == "prometheus"
    port = services["prometheus"]["ports"][0].rsplit(":", 1)[-1]
    assert source["url"] == f"http://prometheus:{port}"
    (dashboards,) = (provisioning / "dashboards").glob("*.yaml")
    (provider,) = yaml.safe_load(dashboards.read_text(encoding="utf-8"))["providers"]
    folder = PurePosixPath(provider["options"]["path"])
    mounted = [target for target in mounts if PurePosixPath(target).parent == folder]
    assert [mounts[t].name for t in mounted] == ["okrsync-dashboard.json"]
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home in mounted


def test_the_okrsync_service_settings_are_settings_okrsync_accepts(tmp_path: Path) -> None:
    """``okrsync config show`` with the service's environment (settings are closed: a
    misspelt key would be refused); the mappings where compose mounts them from."""
    service = compose()["services"]["okrsync"]
    env = {key: str(value) for key, value in service["environment"].items()}
    env["OKRSYNC_MAPPINGS"] = str(bind_mounts(service)[env["OKRSYNC_MAPPINGS"]])
    env["OKRSYNC_SECRETS_DIR"] = str(tmp_path)
    shown = subprocess.run(
        [sys.executable, "-m", "okrsync", "config", "show"],
        env={**env, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "http://sandbox:8080" in shown.stdout
    assert "demo-token" not in shown.stdout  # masked
