"""Trim Atlassian's Jira Cloud OpenAPI spec to what the Jira sandbox serves.

The subset keeps, unmodified, the spec's header (``openapi``, ``info``, ``servers``,
``externalDocs``), each path the Cloud flavour serves with only the methods it serves,
every component those operations reference (transitively, through ``$ref``), the
security schemes they name and the tags they carry; everything else is left out. The
output is deterministic, so a fresh trim can be compared with the vendored copy.

It also writes ``okrsync/sandbox/jira/request_schemas.json``: the request-body schemas of
the served operations, which the sandbox checks request bodies against at run time (the
sandbox package must not read ``tests/``). That file keeps only the validation keywords of
each schema (no descriptions or examples).

Regenerate both from the repository root (``make spec``) after changing the sandbox's routes
or updating the full spec::

    .venv/bin/python -m tests.sandbox_jira.spec.trim [FULL_SPEC] [-o OUT]

FULL_SPEC defaults to ``$OKRSYNC_JIRA_OPENAPI``, else
``../shared/reference/jira-cloud-platform-openapi-v3.json`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
VENDORED = HERE / "jira-openapi-subset.json"
REQUEST_SCHEMAS = REPO_ROOT / "okrsync" / "sandbox" / "jira" / "request_schemas.json"
#: Schema keywords kept in the request schemas (the ones the sandbox checks, and the
#: structure they live in).
VALIDATION_KEYS = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "additionalProperties",
        "items",
        "enum",
        "allOf",
        "oneOf",
        "anyOf",
        "nullable",
        "required",
        "readOnly",
        "maxLength",
        "maxItems",
    }
)
SPEC_NAME = "jira-cloud-platform-openapi-v3.json"
HEADER_KEYS = ("openapi", "info", "servers", "externalDocs")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Components the conformance test names itself (error bodies without a documented schema).
EXTRA_REFS = ("#/components/schemas/ErrorCollection",)


def full_spec_path() -> Path | None:
    """Where the full spec is (``$OKRSYNC_JIRA_OPENAPI`` or ``../shared/reference``), if
    it is there."""
    configured = os.environ.get("OKRSYNC_JIRA_OPENAPI")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "reference" / SPEC_NAME
    return path if path.is_file() else None


def served_operations() -> list[tuple[str, str]]:
    """``(path, method)`` pairs the Cloud sandbox serves, in the spec's path syntax
    (``/rest/api/3/issue/{}``; parameters unnamed)."""
    from okrsync.sandbox.jira.app import ROUTES

    found: list[tuple[str, str]] = []
    for path, methods, _handler, flavours in ROUTES:
        if flavours is not None and "cloud" not in flavours:
            continue
        template = re.sub(r"<[^>]+>", "{}", path.replace("<api>", "3"))
        for method in methods.lower().split(","):
            if (template, method) not in found:
                found.append((template, method))
    return found


def _segments_match(route: str, template: str) -> bool:
    """Whether a served route (``{}`` for parameters) is the spec path ``template``:
    literal segments equal, parameters where the spec has parameters."""
    ours, theirs = route.strip("/").split("/"), template.strip("/").split("/")
    if len(ours) != len(theirs):
        return False
    for mine, spec in zip(ours, theirs, strict=True):
        is_param = spec.startswith("{") and spec.endswith("}")
        if (mine == "{}") != is_param or (not is_param and mine != spec):
            return False
    return True


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"external $ref {ref!r} is not supported")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(spec: dict[str, Any], operations: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The subset of ``spec`` covering ``operations`` (default: what the sandbox serves).

    Raises ``ValueError`` naming any served operation the spec does not document.
    """
    wanted = served_operations() if operations is None else operations
    paths: dict[str, dict[str, Any]] = {}
    missing = []
    for route, method in wanted:
        template = next(
            (t for t in spec["paths"] if _segments_match(route, t) and method in spec["paths"][t]),
            None,
        )
        if template is None:
            missing.append(f"{method.upper()} {route}")
            continue
        paths.setdefault(template, {})[method] = True
    if missing:
        raise ValueError(f"not in the spec: {', '.join(missing)}")

    out_paths: dict[str, Any] = {}
    for template, item in spec["paths"].items():  # the spec's order
        if template not in paths:
            continue
        out_paths[template] = {
            key: value
            for key, value in item.items()
            if key not in METHODS or key in paths[template]
        }

    # Components referenced from the kept paths, and from those components, transitively.
    seen: set[str] = set()
    queue = [*_refs(out_paths), *EXTRA_REFS]
    while queue:
        ref = queue.pop()
        if ref in seen:
            continue
        seen.add(ref)
        queue.extend(_refs(_resolve(spec, ref)))
    schemes: set[str] = set()
    tags: set[str] = set()
    for item in out_paths.values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tags.update(operation.get("tags", ()))
            for requirement in operation.get("security", ()):
                schemes.update(requirement)

    components: dict[str, Any] = {}
    for section, entries in spec["components"].items():
        kept = {
            name: value
            for name, value in entries.items()
            if f"#/components/{section}/{name}" in seen
            or (section == "securitySchemes" and name in schemes)
        }
        if kept:
            components[section] = kept
    out: dict[str, Any] = {key: spec[key] for key in HEADER_KEYS if key in spec}
    if "tags" in spec:
        out["tags"] = [tag for tag in spec["tags"] if tag.get("name") in tags]
    out["paths"] = out_paths
    out["components"] = components
    return out


def _strip(node: Any) -> Any:
    """A schema with only its validation keywords (property names are kept as they are)."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in VALIDATION_KEYS:
            continue
        if key == "properties":
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key in ("required", "enum"):
            out[key] = value
        else:
            out[key] = _strip(value)
    return out


def request_schemas(subset: dict[str, Any]) -> dict[str, Any]:
    """The JSON request-body schema of every operation in ``subset`` that takes one, keyed
    ``"METHOD /rest/api/3/path/{}"`` (parameters unnamed, as ``served_operations`` names
    routes), with the components they reference (transitively), validation keywords only."""
    operations: dict[str, Any] = {}
    for template, item in subset["paths"].items():
        route = re.sub(r"\{[^/]+\}", "{}", template)
        for method in METHODS:
            body = (item.get(method) or {}).get("requestBody")
            schema = ((body or {}).get("content") or {}).get("application/json", {}).get("schema")
            if schema is not None:
                operations[f"{method.upper()} {route}"] = _strip(schema)
    seen: set[str] = set()
    queue = list(_refs(operations))
    while queue:
        ref = queue.pop()
        if ref not in seen:
            seen.add(ref)
            queue.extend(_refs(_resolve(subset, ref)))
    schemas = {
        name: _strip(value)
        for name, value in subset["components"]["schemas"].items()
        if f"#/components/schemas/{name}" in seen
    }
    return {
        "source": subset["info"]["version"],
        "operations": dict(sorted(operations.items())),
        "components": {"schemas": schemas},
    }


def render(subset: dict[str, Any]) -> str:
    """The subset as the vendored file's text."""
    return json.dumps(subset, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the trimmed spec (default: the vendored copy beside this script)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, help="the full OpenAPI spec (JSON)")
    parser.add_argument("-o", "--output", type=Path, default=VENDORED)
    args = parser.parse_args(argv)
    source = args.spec or full_spec_path()
    if source is None:
        parser.error("no full spec found: pass its path or set OKRSYNC_JIRA_OPENAPI")
    subset = trim(json.loads(source.read_text(encoding="utf-8")))
    args.output.write_text(render(subset), encoding="utf-8")
    print(f"{args.output}: {len(subset['paths'])} paths from {source}", file=sys.stderr)
    if args.output == VENDORED:
        bodies = request_schemas(subset)
        REQUEST_SCHEMAS.write_text(render(bodies), encoding="utf-8")
        print(f"{REQUEST_SCHEMAS}: {len(bodies['operations'])} request bodies", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
