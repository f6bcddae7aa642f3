"""Pydantic validation errors turned into short, located messages people can act on.

Pydantic's ``loc`` names union branches (``measure -> metric``, ``period -> str``) that do
not exist in the YAML; they are recognised by walking the model types alongside the
``loc``, so that what remains is the path of keys and indexes in the document.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mappings.locate import Document
from mappings.problems import MappingProblem
from mappings.schema import IDENT, JIRA_KEY

# What each kind of mismatch expected, for "expected X, got Y".
_EXPECTED = {
    "string_type": "a string",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
    "date_type": "a date like 2026-10-01",
    "date_parsing": "a date like 2026-10-01",
    "date_from_datetime_parsing": "a date like 2026-10-01",
    "date_from_datetime_inexact": "a date like 2026-10-01",
}
_PATTERNS = {
    JIRA_KEY: "a Jira issue key like PAY-123",
    IDENT: "an id of letters, digits, '_', '.' and '-' (starting with a letter or digit)",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}
_UNION_LABELS = {"write": "write target"}


@dataclass(frozen=True, slots=True)
class _Clean:
    loc: tuple[str | int, ...]
    # Length of ``loc`` where a plain (not ``kind``-tagged) union chose among branches.
    union_at: int | None
    # The model whose field the last key of ``loc`` names (or fails to).
    owner: type[BaseModel] | None
    # The ``kind`` values allowed where ``loc`` ends, if it ends at a ``kind``-tagged union.
    kinds: tuple[str, ...]


def _unwrap(tp: Any) -> tuple[Any, list[Any] | None]:
    """Strip Annotated and Optional; return the type, or the members of a real union."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is UnionType:
            members = [m for m in get_args(tp) if m is not NoneType]
            if len(members) != 1:
                return tp, members
            tp = members[0]
        else:
            return tp, None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _kinds(tp: Any) -> tuple[Any, ...]:
    field = tp.model_fields.get("kind") if _is_model(tp) else None
    return get_args(field.annotation) if field is not None else ()


def _clean(model: type[BaseModel], loc: tuple[str | int, ...]) -> _Clean:
    tp: Any = model
    out: list[str | int] = []
    union_at: int | None = None
    owner: type[BaseModel] | None = None
    for step in loc:
        tp, members = _unwrap(tp)
        if members is not None:
            # This step names the branch: the ``kind`` value, or a label holding the type name.
            tagged = all(_kinds(m) for m in members)
            if not tagged:
                union_at = len(out)
            tp = next(
                (
                    m
                    for m in members
                    if step in _kinds(m) or (_is_model(m) and m.__name__ in str(step))
                ),
                None,
            )
            continue
        out.append(step)
        if isinstance(step, int):
            args = get_args(tp)
            tp = args[0] if args else None
        elif _is_model(tp):
            owner = tp
            field = tp.model_fields.get(step)
            tp = field.annotation if field is not None else None
        else:
            owner, tp = None, None
    _, members = _unwrap(tp)
    kinds = tuple(str(k) for m in members or () for k in _kinds(m))
    return _Clean(tuple(out), union_at, owner, kinds)


def show(value: Any) -> str:
    """A value as it would read in YAML, short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expected(err: ErrorDetails) -> str | None:
    if err["type"] == "literal_error":
        return str(err.get("ctx", {}).get("expected", "")) or None
    return _EXPECTED.get(err["type"])


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to a mistyped ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validator_message(err: ErrorDetails) -> str | None:
    """What a validator said when it refused a value (its ``ValueError`` or assertion)."""
    ctx = err.get("ctx", {})
    if err["type"] in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    return None


def _message(err: ErrorDetails, clean: _Clean) -> str:
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        key = str(clean.loc[-1])
        allowed = list(clean.owner.model_fields) if clean.owner else []
        hint = did_you_mean(key, allowed) or (
            f"; expected one of: {', '.join(allowed)}" if allowed else ""
        )
        return f"unknown key '{key}'{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        steps = [s for s in clean.loc if isinstance(s, str)]
        label = _UNION_LABELS.get(steps[-1], steps[-1]) if steps else "item"
        tags = ", ".join(clean.kinds)
        if kind == "union_tag_not_found":
            return f"{label} kind required; expected one of: {tags}"
        return f"unknown {label} kind '{ctx.get('tag')}'; expected one of: {tags}"
    own = validator_message(err)
    if own is not None:
        scalar = not isinstance(value, dict | list | tuple)
        return f"{own}, got {show(value)}" if scalar else own
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"must be {words} {show(ctx.get(name))}, got {show(value)}"
    if kind == "invalid_key":
        return f"keys must be text, got {show(value)} (quote it)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} items"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"expected {_PATTERNS.get(pattern, f'text matching {pattern}')}, got {show(value)}"
    expected = _expected(err)
    if kind == "tuple_type" and clean.loc and clean.loc[-1] == "scope":
        expected = "a scope mapping or a list of them"
    if expected is not None:
        return f"expected {expected}, got {show(value)}"
    return str(err["msg"])


def _mismatch(err: ErrorDetails, clean: _Clean, at: int) -> bool:
    """The branch refused the value's type as a whole (rather than something inside it)."""
    return len(clean.loc) == at and _expected(err) is not None


def validation_problems(
    doc: Document, exc: ValidationError, model: type[BaseModel]
) -> list[MappingProblem]:
    """Every error of ``exc`` (from validating ``doc.data`` as ``model``) as a located problem."""
    problems: list[MappingProblem] = []
    unions: dict[tuple[str | int, ...], list[tuple[ErrorDetails, _Clean]]] = {}
    for err in exc.errors(include_url=False):
        clean = _clean(model, tuple(err["loc"]))
        if clean.union_at is not None:
            unions.setdefault(clean.loc[: clean.union_at], []).append((err, clean))
        else:
            problems.append(_problem(doc, err, clean))
    for at, branches in unions.items():
        # When a branch got past the type check, its errors are the ones that matter; when
        # every branch refused the type, say what each would have taken.
        relevant = [(e, c) for e, c in branches if not _mismatch(e, c, len(at))]
        if relevant:
            problems.extend(_problem(doc, e, c) for e, c in relevant)
            continue
        # "'ignore' or 'mean'" and "a number" read "'ignore', 'mean' or a number".
        wanted = list(
            dict.fromkeys((_expected(e) or "").replace(" or ", ", ") for e, _ in branches)
        )
        value = show(branches[0][0].get("input"))
        problems.append(doc.problem(at, f"expected {_join(wanted)}, got {value}"))
    return problems


def _problem(doc: Document, err: ErrorDetails, clean: _Clean) -> MappingProblem:
    message = _message(err, clean)
    kind = err["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return doc.problem((*clean.loc, "kind"), message)
    if kind == "invalid_key":  # the key is the problem, so it cannot name the place
        return doc.problem(clean.loc[:-1], message)
    return doc.problem(clean.loc, message, at_key=kind == "extra_forbidden")
