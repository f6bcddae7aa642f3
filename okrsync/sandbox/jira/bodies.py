"""Request bodies checked against the request schemas of Atlassian's OpenAPI spec (Cloud).

``request_schemas.json`` beside this module holds the request-body schema of each served
operation the spec documents (``make spec`` extracts it from the spec subset vendored in
``tests/sandbox_jira/spec``). A body the schema forbids gets Jira Cloud's answer to a body
its deserializer refuses: 400 ``{"errorMessages": ["Invalid request payload. Refer to the
REST API documentation and try again."]}`` (the wording Jira Cloud sends, e.g. for an
unknown key in a ``POST /search/jql`` body).

The check follows Jira's JSON binding rather than a literal JSON Schema reading:

- refused: an unknown key where the schema allows no others (``additionalProperties:
  false``), an array or object where a scalar belongs (``"expand": ["names"]``), a scalar
  where an array or object belongs (``"fields": "summary"``), a value outside an ``enum``,
  a string longer than ``maxLength``;
- accepted, as Jira's binding coerces them: ``null`` for any property, a number or boolean
  for a string, a numeric string for a number, ``"true"``/``"false"`` for a boolean;
- not checked here: ``required`` (each handler answers a missing value with Jira's own
  message for it) and ``readOnly`` properties (ignored when sent).

An empty body is left to the handler.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
SCHEMAS = Path(__file__).with_name("request_schemas.json")
_REF = "#/components/schemas/"
_INTEGER = re.compile(r"^[+-]?\d+$")


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMAS.read_text(encoding="utf-8"))
    return loaded


def schema_for(method: str, route: str) -> dict[str, Any] | None:
    """The request schema of a served route (``/rest/api/<api>/issue/<key>``), if any."""
    template = re.sub(r"<[^>]+>", "{}", route.replace("<api>", "3"))
    found: dict[str, Any] | None = _document()["operations"].get(f"{method.upper()} {template}")
    return found


def problems(body: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Where ``body`` breaks ``schema`` (empty when it conforms), e.g. ``expand: array``."""
    if "$ref" in schema:
        target = _document()["components"]["schemas"][schema["$ref"].removeprefix(_REF)]
        return problems(body, target, path)
    found: list[str] = []
    for part in schema.get("allOf", ()):
        found += problems(body, part, path)
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if options and all(problems(body, option, path) for option in options):
            found.append(f"{path or 'body'}: matches none of {key}")
    if body is None:
        return found
    kind = schema.get("type")
    where = path or "body"
    if kind == "object" or (kind is None and "properties" in schema):
        if not isinstance(body, dict):
            return [*found, f"{where}: {type(body).__name__} where an object belongs"]
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, value in body.items():
            sub = f"{path}.{name}" if path else name
            if name in props:
                found += problems(value, props[name], sub)
            elif extra is False:
                found.append(f"{sub}: not a known property")
            elif isinstance(extra, dict):
                found += problems(value, extra, sub)
    elif kind == "array":
        if not isinstance(body, list):
            return [*found, f"{where}: {type(body).__name__} where an array belongs"]
        items = schema.get("items")
        for i, value in enumerate(body):
            if items is not None:
                found += problems(value, items, f"{where}[{i}]")
        if "maxItems" in schema and len(body) > schema["maxItems"]:
            found.append(f"{where}: more than {schema['maxItems']} items")
    elif kind is not None and not _scalar_fits(body, kind):
        found.append(f"{where}: {type(body).__name__} where a {kind} belongs")
    if "enum" in schema and body not in schema["enum"] and str(body) not in schema["enum"]:
        found.append(f"{where}: not one of {schema['enum']}")
    if isinstance(body, str) and "maxLength" in schema and len(body) > schema["maxLength"]:
        found.append(f"{where}: longer than {schema['maxLength']}")
    return found


def _scalar_fits(value: Any, kind: str) -> bool:
    """Whether Jira's binding reads ``value`` as a ``kind`` (scalars coerce; containers
    never do)."""
    if isinstance(value, dict | list):
        return False
    if kind == "string":
        return True
    if kind == "boolean":
        return isinstance(value, bool) or str(value).lower() in {"true", "false"}
    if isinstance(value, bool):
        return False
    if kind == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) or bool(_INTEGER.match(str(value)))
    if kind == "number":
        if isinstance(value, int | float):
            return True
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    return True
