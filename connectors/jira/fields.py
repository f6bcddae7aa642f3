"""Jira field catalog (names -> ids and types) and field value conversion.

People name fields ("OKR Progress"); Jira's REST API wants ids ("customfield_10100").
``FieldCatalog`` is built from one ``GET /field``; values go to Jira in its own JSON
forms and come back in ``FieldWrite``'s forms (float, str, datetime, None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base import ConnectorError, FieldNotEditableError, NotFoundError
from connectors.field_names import close_names
from mappings.results import STATUS_NAMES

FieldKind = Literal["number", "text", "select", "datetime", "other"]
CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
NUMBER_TOLERANCE = 1e-9
# Most characters a single-line text field ("textfield") holds.
TEXTFIELD_LIMIT = 255


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One Jira field: id, visible name and the kind of value it holds."""

    id: str
    name: str
    kind: FieldKind
    custom_type: str = ""


def _kind(schema: Mapping[str, Any]) -> FieldKind:
    kind = {"number": "number", "string": "text", "option": "select", "datetime": "datetime"}
    return kind.get(str(schema.get("type", "")), "other")  # type: ignore[return-value]


class FieldCatalog:
    """Name -> field lookup over one ``GET /field`` answer.

    A name may also be given as the field id (``customfield_10016``). Exact names win over
    case-insensitive matches; two fields sharing a name make that name ambiguous.
    """

    def __init__(self, raw: Iterable[Mapping[str, Any]], connection: str):
        self.connection = connection
        self.fields: list[FieldInfo] = []
        self.epic_link: FieldInfo | None = None
        for entry in raw:
            schema = entry.get("schema") or {}
            info = FieldInfo(
                id=str(entry["id"]),
                name=str(entry.get("name", entry["id"])),
                kind=_kind(schema),
                custom_type=str(schema.get("custom", "")),
            )
            self.fields.append(info)
            if info.custom_type == EPIC_LINK_TYPE or (
                self.epic_link is None and info.name == "Epic Link" and info.id != "parent"
            ):
                self.epic_link = info
        self.by_id = {f.id: f for f in self.fields}

    def candidates(self, name: str) -> list[FieldInfo]:
        """Every field the name could mean (more than one: ambiguous; none: missing)."""
        if name in self.by_id:
            return [self.by_id[name]]
        exact = [f for f in self.fields if f.name == name]
        if exact:
            return exact
        folded = name.casefold()
        return [f for f in self.fields if f.name.casefold() == folded]

    def get(self, name: str) -> FieldInfo | None:
        """The field of that name, or None when missing or ambiguous."""
        found = self.candidates(name)
        return found[0] if len(found) == 1 else None

    def close_to(self, name: str) -> str | None:
        """The existing field name ``name`` most likely meant to say, if one is close."""
        close = close_names(name, (f.name for f in self.fields))
        return close[0] if close else None

    def missing_message(self, name: str) -> str:
        """Why ``name`` cannot be used and what to do: the close name when there is one
        (a typo must not lead to creating a second field), else how to create it."""
        here = f"field '{name}' does not exist on Jira connection '{self.connection}'"
        meant = self.close_to(name)
        if meant is not None:
            return f"{here} (did you mean '{meant}'?): fix the name in the mapping"
        return f"{here} (create it: okrsync fields bootstrap)"

    def find(self, name: str) -> FieldInfo:
        """The field of that name; ``NotFoundError`` when missing, ``ConnectorError`` when
        several fields share it."""
        found = self.candidates(name)
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFoundError(self.missing_message(name))
        ids = ", ".join(f.id for f in found)
        raise ConnectorError(
            f"field name '{name}' is ambiguous on Jira connection '{self.connection}' "
            f"({ids}): rename one of them, or name the field by its id in the mapping"
        )


# --------------------------------------------------------------------------- values


def format_datetime(value: datetime) -> str:
    """Jira's datetime form, e.g. ``2026-11-28T10:00:00.000+0000`` (naive means UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: object) -> datetime | None:
    """Parse Jira's datetime strings (``...000+0000``, ISO with colon offsets, Z)."""
    if not isinstance(text, str) or not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def number_of(raw: object) -> float | None:
    """A finite float from a Jira number field (or a numeric string/option), else None."""
    if isinstance(raw, Mapping):
        raw = raw.get("value")
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def from_jira(info: FieldInfo, raw: object) -> object:
    """A field's Jira JSON value in ``FieldWrite``'s forms."""
    if raw is None:
        return None
    if info.kind == "number":
        return number_of(raw)
    if info.kind == "select":
        return raw.get("value") if isinstance(raw, Mapping) else str(raw)
    if info.kind == "datetime":
        return parse_datetime(raw)
    if info.kind == "text":
        return str(raw)
    return raw


def fit_text(info: FieldInfo, value: str) -> str:
    """Text as Jira keeps it: a single-line text field holds at most 255 characters, so a
    longer value is cut (ending in an ellipsis) rather than refused on every write."""
    if info.custom_type == CF + "textfield" and len(value) > TEXTFIELD_LIMIT:
        return value[: TEXTFIELD_LIMIT - 1] + "\u2026"
    return value


def to_jira(info: FieldInfo, value: object, target: str) -> object:
    """A ``FieldWrite`` value as Jira's JSON for this field's kind."""
    if value is None:
        return None
    if (
        info.kind == "number"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return float(value)
    if info.kind == "text" and isinstance(value, str):
        return fit_text(info, value) or None
    if info.kind == "select" and isinstance(value, str):
        return {"value": value}
    if info.kind == "datetime" and isinstance(value, datetime):
        return format_datetime(value)
    raise FieldNotEditableError(
        f"field '{info.name}' on {target} holds {info.kind} values "
        f"({info.custom_type or 'system field'}); okrsync cannot write "
        f"{type(value).__name__} {value!r} into it"
    )


def same_value(info: FieldInfo, current: object, desired: object) -> bool:
    """Whether writing ``desired`` would change nothing (numbers within 1e-9, datetimes
    to the millisecond in any time zone, select by option value, text as Jira keeps it:
    empty is no value, over-long is cut)."""
    if info.kind == "text" and isinstance(desired, str | None) and isinstance(current, str | None):
        return (current or "") == fit_text(info, desired or "")
    if current is None or desired is None:
        return current is None and desired is None
    if info.kind == "number":
        a, b = number_of(current), number_of(desired)
        return a is not None and b is not None and abs(a - b) <= NUMBER_TOLERANCE
    if info.kind == "datetime" and isinstance(current, datetime) and isinstance(desired, datetime):
        return format_datetime(current) == format_datetime(desired)
    return current == desired


# --------------------------------------------------------------------------- bootstrap specs

STATUS_OPTIONS = tuple(STATUS_NAMES.values())

# Jira custom field type and searcher for each kind okrsync writes.
CREATE_TYPES: dict[str, tuple[str, str]] = {
    "number": (CF + "float", CF + "exactnumber"),
    "text": (CF + "textfield", CF + "textsearcher"),
    "select": (CF + "select", CF + "multiselectsearcher"),
    "datetime": (CF + "datetime", CF + "datetimerange"),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A custom field okrsync writes: its name, kind and (select) options."""

    name: str
    kind: Literal["number", "text", "select", "datetime"]
    options: tuple[str, ...] = ()
    description: str = ""


# The kind of each write-back role (``mappings.schema.FieldNames``).
ROLE_KINDS: dict[str, Literal["number", "text", "select", "datetime"]] = {
    "progress": "number",
    "status": "select",
    "summary": "text",
    "expected": "number",
    "forecast": "number",
    "last_synced": "datetime",
}
DEFAULT_NAMES: dict[str, str] = {
    "progress": "OKR Progress",
    "status": "OKR Status",
    "summary": "OKR Summary",
    "expected": "OKR Expected",
    "forecast": "OKR Forecast",
    "last_synced": "OKR Last Synced",
}
_DESCRIPTIONS = {
    "progress": "Key-result progress, written by okrsync",
    "status": "Key-result status, written by okrsync",
    "summary": "One-line key-result summary, written by okrsync",
    "expected": "Progress expected by now in the OKR period, written by okrsync",
    "forecast": "Forecast progress at the end of the OKR period, written by okrsync",
    "last_synced": "When okrsync last updated this issue",
}


def options_by_hand(options: Sequence[str]) -> str:
    """What a Jira Data Center administrator must do for a new select field: DC 8.x/9.x
    has no REST endpoint that adds select options, so they are added in its UI."""
    return (
        "add its options by hand, as Jira Data Center cannot add them over REST: in Jira "
        "administration > Issues > Custom fields, open the field's Configure page and use "
        f"Edit Options to add {', '.join(options)}"
    )


def field_specs(names: Iterable[tuple[str, str]] | None = None) -> list[FieldSpec]:
    """Specs of okrsync's fields for ``(role, name)`` pairs (the default names if None).

    Roles are ``mappings.schema.FieldNames``' keys; unknown roles and repeated names are
    left out.
    """
    pairs = list(DEFAULT_NAMES.items()) if names is None else list(names)
    specs: dict[str, FieldSpec] = {}
    for role, name in pairs:
        if role not in ROLE_KINDS or not name or name in specs:
            continue
        kind = ROLE_KINDS[role]
        options = STATUS_OPTIONS if kind == "select" else ()
        specs[name] = FieldSpec(name, kind, options, _DESCRIPTIONS[role])
    return list(specs.values())
