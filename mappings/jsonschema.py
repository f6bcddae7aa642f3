"""JSON Schema of a mapping file, for editors (``okrsync schema``).

It is generated from :class:`MappingFile`, then adjusted where the loader accepts more than
the models' types say: a single scope mapping stands for a list of one, and a period may be
a bare year. Rules that span several keys (``start`` differs from ``target``, a KR needs a
scope) are left to ``okrsync check``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mappings.schema import FIRST_DAY, LAST_DAY, PERIOD, MappingFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://okrsync.example/schemas/mapping-v1.json"


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one OKR mapping YAML file."""
    generated = copy.deepcopy(MappingFile.model_json_schema())
    defs = generated["$defs"]

    scope = defs["KeyResult"]["properties"]["scope"]
    item = scope.pop("items")
    defs["KeyResult"]["properties"]["scope"] = {
        "title": "Scope",
        "description": "Which work items the key result looks at: one scope or a list.",
        "default": scope.get("default", []),
        "anyOf": [item, {"type": "array", "items": item}],
    }

    # Python's named groups are not portable regex syntax; plain groups mean the same.
    pattern = re.sub(r"\(\?P<\w+>", "(", PERIOD.pattern)
    period = defs["Objective"]["properties"]["period"]
    period["description"] = "2026, 2026-Q4, 2026-H2, 2026-M11 or {start, end}"
    period["anyOf"] = [
        {"type": "string", "pattern": pattern},
        {"type": "integer", "minimum": FIRST_DAY.year, "maximum": LAST_DAY.year},
        {"$ref": "#/$defs/PeriodRange"},
    ]

    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **{k: v for k, v in generated.items() if k != "title"},
        "title": "okrsync mapping file",
    }
