"""Dataclasses to JSON-ready dicts and back, driven by their fields and type hints.

One serialisation for every result and report type, so that a new field is declared once
(on the dataclass) and is stored, printed and loaded back without further code.

``to_json`` turns a value into plain JSON data: a dataclass into a dict of its fields in
declaration order, tuples and lists into lists, dates and datetimes into ISO text.
``from_json`` builds a dataclass from such a dict: each field's value is converted by its
type hint (nested dataclasses, tuples, optional values, ISO dates and times), a missing
key takes the field's default, and keys that are not fields are ignored, so that a dict
carrying more than one type's fields (a stored result with its report's keys) loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import date, datetime
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["as_dict", "from_json", "to_json"]

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses as dicts, dates and times as ISO text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return as_dict(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def as_dict(
    obj: Any, *, exclude: Collection[str] = (), rename: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The dataclass ``obj``'s fields as JSON data, in declaration order.

    ``exclude`` leaves fields out; ``rename`` gives some fields another key.
    """
    names = rename or {}
    return {
        names.get(f.name, f.name): to_json(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.name not in exclude
    }


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    # Resolving string annotations is slow; each class's hints never change.
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def from_json(cls: type[T], data: Mapping[str, Any], **given: Any) -> T:
    """A ``cls`` built from ``data`` (the inverse of ``to_json``).

    ``given`` supplies some fields' values as they are (already built). Raises ``KeyError``
    for a missing field that has no default, and what the conversion or ``cls`` raises
    for a bad value.
    """
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given:
            values[f.name] = given[f.name]
        elif f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f.name)
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is UnionType:
        members = [m for m in get_args(hint) if m is not NoneType]
        if value is None and len(members) < len(get_args(hint)):
            return None
        # A union of several types (a tracker's raw value) is kept as it is.
        return _convert(members[0], value) if len(members) == 1 else value
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], item) for item in value)
        return tuple(_convert(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is list:
        return [_convert(get_args(hint)[0], item) for item in value]
    if origin is dict:
        return {str(key): _convert(get_args(hint)[1], item) for key, item in value.items()}
    if origin is Literal:
        # The dataclass checks its own literals (a status names itself in the error).
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    if hint is datetime:
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if hint is date:
        return date.fromisoformat(value) if isinstance(value, str) else value
    if hint in (int, float, str, bool):
        return hint(value)
    return value
