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
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

__all__ = ["as_dict", "from_json", "to_json"]

T = TypeVar("T")


_PLAIN: frozenset[type] = frozenset({str, int, float, bool, NoneType})


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses as dicts, dates and times as ISO text)."""
    kind = type(value)
    if kind in _PLAIN:  # by far the most common: checked first, and cheaply
        return value
    if kind in _FIELD_NAMES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        return as_dict(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def as_dict(
    obj: Any, *, exclude: Collection[str] = (), rename: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The dataclass ``obj``'s fields as JSON data, in declaration order.

    ``exclude`` leaves fields out; ``rename`` gives some fields another key.
    """
    names = _field_names(type(obj))
    if not exclude and not rename:
        return {name: to_json(getattr(obj, name)) for name in names}
    renamed = rename or {}
    return {
        renamed.get(name, name): to_json(getattr(obj, name))
        for name in names
        if name not in exclude
    }


Converter = Callable[[Any], Any]

# Per class: each field's name, converter and whether it must be given (no default).
_PLANS: dict[type, list[tuple[str, Converter, bool]]] = {}


def _plan(cls: type) -> list[tuple[str, Converter, bool]]:
    plan = _PLANS.get(cls)
    if plan is None:
        # Resolving string annotations is slow; each class's fields never change.
        hints = get_type_hints(cls)
        plan = _PLANS[cls] = [
            (
                f.name,
                _converter(hints[f.name]),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
        ]
    return plan


def from_json(cls: type[T], data: Mapping[str, Any], **given: Any) -> T:
    """A ``cls`` built from ``data`` (the inverse of ``to_json``).

    ``given`` supplies some fields' values as they are (already built). Raises ``KeyError``
    for a missing field that has no default, and what the conversion or ``cls`` raises
    for a bad value.
    """
    values: dict[str, Any] = {}
    for name, convert, required in _plan(cls):
        if name in given:
            values[name] = given[name]
        elif name in data:
            values[name] = convert(data[name])
        elif required:
            raise KeyError(name)
    return cls(**values)


def _keep(value: Any) -> Any:
    return value


def _converter(hint: Any) -> Converter:
    """How a JSON value becomes a value of type ``hint``, decided once per type."""
    origin = get_origin(hint)
    if origin is Union or origin is UnionType:
        members = [m for m in get_args(hint) if m is not NoneType]
        optional = len(members) < len(get_args(hint))
        if len(members) != 1:
            return _keep  # a union of several types (a tracker's raw value) is kept as it is
        inner = _converter(members[0])
        if not optional:
            return inner
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return lambda value: tuple(item(v) for v in value)
        items = [_converter(arg) for arg in args]
        return lambda value: tuple(c(v) for c, v in zip(items, value, strict=True))
    if origin is list:
        item = _converter(get_args(hint)[0])
        return lambda value: [item(v) for v in value]
    if origin is dict:
        item = _converter(get_args(hint)[1])
        return lambda value: {str(key): item(v) for key, v in value.items()}
    if origin is Literal:
        return _keep  # the dataclass checks its own literals (a status names itself)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda value: from_json(hint, value)
    if hint is datetime:
        return lambda value: datetime.fromisoformat(value) if isinstance(value, str) else value
    if hint is date:
        return lambda value: date.fromisoformat(value) if isinstance(value, str) else value
    if hint in (int, float, str, bool):
        return cast(Converter, hint)
    return _keep
