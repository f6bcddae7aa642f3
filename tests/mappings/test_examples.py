"""The shipped example mappings load cleanly, and the JSON Schema agrees with the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from mappings.jsonschema import mapping_json_schema
from mappings.loader import load_mappings
from mappings.schema import (
    JiraEpicsScope,
    JiraIssueTarget,
    MetricMeasure,
    TeambitionTaskTarget,
)

EXAMPLES = Path(__file__).parents[2] / "mappings" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def as_json(path: Path) -> Any:
    """The file as an editor's YAML language server sees it (dates stay text)."""
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(path), default=str))


def test_examples_load_with_one_connection_per_tracker() -> None:
    tree = load_mappings(EXAMPLES, connections={"jira": {"cloud"}, "teambition": {"main"}})
    assert [n.objective.id for n in tree.roots()] == ["co-grow-paying-customers"]
    assert set(tree.objectives["co-grow-paying-customers"].children) == {
        "pay-reliable-checkout",
        "plat-kubernetes",
        "mob-onboarding",
        "mob-release",
    }
    kinds = {node.kr.measure.kind for node in tree.key_results.values()}
    assert kinds == {"points", "count", "metric", "maintain", "milestone", "manual"}
    assert all(n.objective.period == "2026-Q4" for n in tree.objectives.values())


def test_examples_write_to_the_demo_home_issues() -> None:
    tree = load_mappings(EXAMPLES)
    homes = set()
    for kr_id in tree.key_results:
        for target, fields, _fmt, _conn in tree.effective_write(kr_id):
            assert fields.progress == "OKR Progress"
            if isinstance(target, JiraIssueTarget):
                homes.add(target.key)
            elif isinstance(target, TeambitionTaskTarget):
                homes.add(target.task)
    assert homes == {f"OKR-{n}" for n in range(1, 7)} | {"tb-task-okr-home"}


def test_examples_share_scopes_between_key_results() -> None:
    tree = load_mappings(EXAMPLES)
    uses = [s for node in tree.key_results.values() for s in node.kr.scope]
    assert len(uses) == 10
    assert len(tree.scopes()) == 8
    assert JiraEpicsScope(kind="jira_epics", epics=("PLAT-1",)) in tree.scopes()
    bugs = tree.key_results["pay-checkout-bugs"].kr.measure
    assert isinstance(bugs, MetricMeasure)
    assert (bugs.aggregate, bugs.only, bugs.start, bugs.target) == ("count", "open", 20, 5)


def test_schema_is_a_valid_draft_2020_12_schema_with_identity() -> None:
    schema = mapping_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(".json")
    assert schema["title"] == "okrsync mapping file"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_schema_accepts_the_examples(path: Path) -> None:
    jsonschema.Draft202012Validator(mapping_json_schema()).validate(as_json(path))


def test_schema_rejects_an_unknown_key() -> None:
    data = as_json(EXAMPLES / "payments-platform.yaml")
    data["objectives"][1]["key_results"][0]["wieght"] = 2
    validator = jsonschema.Draft202012Validator(mapping_json_schema())
    errors = list(validator.iter_errors(data))
    assert errors
    assert any("wieght" in str(e.message) for e in _leaves(errors))


def test_schema_accepts_what_the_loader_accepts(tmp_path: Path) -> None:
    document = {
        "objectives": [
            {
                "id": "pay",
                "title": "Payments",
                "period": 2026,
                "key_results": [
                    {
                        "id": "one",
                        "title": "One scope, no list",
                        "scope": {"kind": "jql", "jql": "project = PAY"},
                        "measure": {"kind": "count"},
                    },
                    {
                        "id": "two",
                        "title": "A list of scopes",
                        "scope": [{"kind": "jira_epics", "epics": ["PAY-1"]}],
                        "measure": {"kind": "points", "unestimated": 1},
                    },
                ],
            }
        ]
    }
    jsonschema.Draft202012Validator(mapping_json_schema()).validate(document)
    path = tmp_path / "m.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    assert list(load_mappings(path).key_results) == ["one", "two"]
    bad = json.loads(json.dumps(document))
    bad["objectives"][0]["period"] = "2026-Q5"
    assert list(jsonschema.Draft202012Validator(mapping_json_schema()).iter_errors(bad))


def _leaves(errors: list[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    out = []
    for error in errors:
        out.append(error)
        out.extend(_leaves(list(error.context or [])))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


KR = ("objectives", 1, "key_results", 0)
TYPOS = [
    ((*KR, "measure", "kind"), "point"),
    ((*KR, "scope", "kind"), "jira_epic"),
    ((*KR, "scope", "epics"), ["pay-1"]),
    ((*KR, "weight"), True),
    ((*KR, "weight"), 0),
    ((*KR, "measure", "unestimated"), "average"),
    ((*KR, "write", 0, "kind"), "jira_isue"),
    (("defaults", "write", "fields", "progres"), "OKR Progress"),
    (("defaults", "write", "progress_format"), "percentage"),
    (("objectives", 1, "period"), "2026-Q5"),
    (("objectives", 1, "parnet"), "co-grow-paying-customers"),
]


@pytest.mark.parametrize(("path", "value"), TYPOS, ids=[f"{p[-1]}={v}" for p, v in TYPOS])
def test_schema_rejects_typos(path: tuple[Any, ...], value: Any) -> None:
    data = as_json(EXAMPLES / "payments-platform.yaml")
    _set(data, path, value)
    assert not jsonschema.Draft202012Validator(mapping_json_schema()).is_valid(data)
