"""Settings problems as people can act on them: where each value came from, in its words.

A value that fails validation is named as it was given: ``OKRSYNC_LISTEN`` for the
environment, ``.env: OKRSYNC_LISTEN`` for the dotenv file, ``okrsync.toml: listen`` for
the config file, the file's path for a Docker/Kubernetes secret. Messages never quote the
value (it may be a secret).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from mappings.messages import did_you_mean, validator_message

PREFIX = "OKRSYNC_"
# Variables that steer loading itself rather than naming a setting.
LOADER_VARIABLES = ("CONFIG", "SECRETS_DIR")
_TRACKERS = ("jira", "teambition")
# Settings that are tables, spelt OKRSYNC_<NAME>__<KEY> in the environment.
_NESTED = (*_TRACKERS, "retry", "sync")


@dataclass(frozen=True, slots=True)
class SourceData:
    """What one settings source supplied, for finding where a bad value came from.

    ``kind`` is ``environment``, ``dotenv``, ``secrets`` or ``config``; ``where`` is the
    secrets directory or the config file.
    """

    kind: str
    data: Mapping[str, Any]
    where: str = ""


def env_name(loc: Sequence[str | int]) -> str:
    """``("jira", "cloud", "url")`` -> ``OKRSYNC_JIRA__CLOUD__URL``."""
    return PREFIX + "__".join(str(part) for part in loc).upper()


def _depth(data: Mapping[str, Any], loc: Sequence[str | int]) -> tuple[int, Any]:
    """How many leading steps of ``loc`` exist in ``data``, and the value reached."""
    node: Any = data
    for depth, step in enumerate(loc):
        if not isinstance(node, Mapping) or str(step) not in node:
            return depth, None
        node = node[str(step)]
    return len(loc), node


def _origin(
    loc: tuple[str | int, ...], missing: bool, sources: Sequence[SourceData]
) -> tuple[SourceData, bool] | None:
    """The source that gave ``loc`` (or, for a missing key, the table that lacks it) and
    whether the value there is a table rather than a single value."""
    best: tuple[int, SourceData, Any] | None = None
    for source in sources:
        depth, value = _depth(source.data, loc)
        if not missing and depth == len(loc):
            return source, isinstance(value, Mapping)
        if missing and depth > 0 and (best is None or depth > best[0]):
            best = (depth, source, value)
    return None if best is None else (best[1], False)


def _where(loc: tuple[str | int, ...], origin: tuple[SourceData, bool] | None) -> str:
    dotted = ".".join(str(part) for part in loc) or "settings"
    if origin is None:
        return dotted
    source, is_table = origin
    star = "__*" if is_table else ""
    if source.kind == "environment":
        return env_name(loc) + star
    if source.kind == "dotenv":
        return f".env: {env_name(loc)}{star}"
    if source.kind == "secrets":
        return str(Path(source.where) / (env_name(loc).lower() + star))
    return f"{source.where}: {dotted}"


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names of the model found at ``loc`` (named connections are skipped)."""
    current: Any = model
    steps = list(loc)
    while steps:
        step = steps.pop(0)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(step))
        if field is None:
            return []
        current = field.annotation
        if get_origin(current) is dict:
            current = get_args(current)[1]
            if steps:
                steps.pop(0)  # the connection's name
            else:
                return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _message(err: ErrorDetails, model: type[BaseModel]) -> tuple[tuple[str | int, ...], str]:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return loc, f"unknown setting{did_you_mean(key, _fields_at(model, loc[:-1]))}"
    if kind == "missing":
        return loc, "required"
    if kind in ("model_type", "dict_type") and len(loc) == 2 and loc[0] in _TRACKERS:
        tracker = str(loc[0])
        return loc[:1], (
            f"'{loc[1]}' is not a {tracker} connection: settings of a connection go under "
            f"its name, e.g. {env_name((tracker, 'main', loc[1]))} or a [{tracker}.main] table"
        )
    own = validator_message(err)
    if own is not None:
        return loc, own
    message = err["msg"]
    if message.startswith("Input should"):
        message = "should" + message[len("Input should") :]
    return loc, message[:1].lower() + message[1:]


def describe(
    errors: Sequence[ErrorDetails],
    file_problems: Sequence[tuple[tuple[str, ...], str]],
    sources: Sequence[SourceData],
    model: type[BaseModel],
) -> list[str]:
    """One line per problem, each naming where the value came from."""
    lines: list[str] = []
    for file_loc, file_message in file_problems:
        lines.append(f"{_where(file_loc, _origin(file_loc, False, sources))}: {file_message}")
    for err in errors:
        raw = tuple(err["loc"])
        if (
            err["type"] == "extra_forbidden"
            and len(raw) == 1
            and str(raw[0]).upper().startswith(PREFIX)
        ):
            # Only the dotenv source passes unknown OKRSYNC_ names through, whole.
            variable = str(raw[0]).upper()
            close = difflib.get_close_matches(
                variable[len(PREFIX) :].lower(), list(model.model_fields), n=1, cutoff=0.6
            )
            hint = f" (did you mean {env_name(close[:1])}?)" if close else ""
            lines.append(f".env: {variable}: unknown setting{hint}")
            continue
        loc, message = _message(err, model)
        origin = _origin(loc, err["type"] == "missing", sources)
        line = f"{_where(loc, origin)}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


def _flattened(model: type[BaseModel], table: str, head: str) -> bool:
    """Whether ``head`` reads as ``<table>_[<name>_]<key>``: a nested setting spelt with
    single underscores (``jira_cloud_url``), not another tool's variable."""
    if not head.startswith(table + "_"):
        return False
    rest = head[len(table) + 1 :].removesuffix("_file")
    keys = _fields_at(model, (table,)) or _fields_at(model, (table, "name"))
    return any(rest == key or rest.endswith("_" + key) for key in keys)


def unknown_variables(environ: Mapping[str, str], model: type[BaseModel]) -> list[str]:
    """``OKRSYNC_*`` variables that look like a misspelt setting.

    An unknown top-level variable is otherwise silently ignored; only near misses are
    reported, since other tools may share the prefix.
    """
    names = list(model.model_fields)
    out = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(PREFIX):
            continue
        head = upper[len(PREFIX) :].split("__")[0]
        if head in LOADER_VARIABLES or head.lower() in names:
            continue
        nested = [n for n in _NESTED if n in names and _flattened(model, n, head.lower())]
        close = difflib.get_close_matches(head.lower(), names, n=1, cutoff=0.7)
        if nested:
            out.append(
                f"{variable} is not a setting (nested settings take a double underscore: "
                f"{env_name((nested[0],))}__...)"
            )
        elif close:
            out.append(f"{variable} is not a setting (did you mean {env_name((close[0],))}?)")
    return out
