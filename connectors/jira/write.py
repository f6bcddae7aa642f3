"""Reading and writing okrsync's fields on Jira issues (field creation: ``bootstrap``).

Writes compare first: the current values of every target come from one ``key in (...)``
search per 100 targets (a per-issue read for targets the search does not return), and only
changed fields are sent, all fields of one issue in one ``PUT ?notifyUsers=false``.
Issue properties asked for with the fields (``property:<key>`` refs) come in the same
search, so that okrsync compares its property with what Jira holds, not with its memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from jira.exceptions import JIRAError

from connectors.base import (
    PROPERTY_PREFIX,
    ConnectorError,
    FieldNotEditableError,
    FieldRef,
    FieldWrite,
    QueryError,
)
from connectors.jira.client import JiraClient
from connectors.jira.errors import Context, jira_messages, status_of
from connectors.jira.fields import (
    FieldCatalog,
    FieldInfo,
    from_jira,
    same_value,
    to_jira,
)
from connectors.jira.query import PROJECT_FIELD, chunks, keys_in
from connectors.jira.transport import run_all

Raw = dict[str, Any]


def _project(key: str, raw: Raw | None) -> str:
    project = ((raw or {}).get("fields") or {}).get(PROJECT_FIELD)
    if isinstance(project, dict) and project.get("key"):
        return str(project["key"])
    return key.rsplit("-", 1)[0]


def not_editable(name: str, key: str, project: str) -> FieldNotEditableError:
    """The error for a field missing from an issue's edit screen."""
    return FieldNotEditableError(
        f"field '{name}' cannot be set on {key}: add it to the edit screen of project {project}",
        status=400,
    )


def read_current(
    client: JiraClient,
    targets: Sequence[str],
    infos: Sequence[FieldInfo],
    properties: Sequence[str] = (),
) -> dict[str, Raw | ConnectorError]:
    """Raw JSON (the given fields, issue properties and project) of each target issue,
    or its error."""
    ids = [*dict.fromkeys(info.id for info in infos), PROJECT_FIELD]
    out: dict[str, Raw | ConnectorError] = {}
    for chunk in chunks(sorted(set(targets))):
        try:
            raws = client.search(keys_in("key", chunk), ids, properties=properties)
        except QueryError:
            raws = []  # e.g. one key does not exist: read each issue alone below
        except ConnectorError as exc:
            out.update(dict.fromkeys(chunk, exc))
            continue
        by_key = {raw.get("key"): raw for raw in raws}
        out.update({key: by_key[key] for key in chunk if key in by_key})
    missing = [key for key in targets if key not in out]
    out.update(
        run_all(
            client.settings.concurrency,
            {k: partial(client.issue, k, ids, properties) for k in missing},
        )
    )
    return out


def read_fields(client: JiraClient, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
    """Current values in ``FieldWrite`` forms; a ``ConnectorError`` as the value of a ref
    whose field or issue cannot be read."""
    out: dict[FieldRef, object] = {}
    try:
        catalog = client.catalog()
    except ConnectorError as exc:
        return dict.fromkeys(refs, exc)
    infos: dict[FieldRef, FieldInfo] = {}
    props = {ref: ref.field.removeprefix(PROPERTY_PREFIX) for ref in refs}
    props = {ref: key for ref, key in props.items() if ref.field.startswith(PROPERTY_PREFIX)}
    for ref in refs:
        if ref in props:
            continue
        try:
            infos[ref] = catalog.find(ref.field)
        except ConnectorError as exc:
            out[ref] = exc
    targets = [r.target for r in [*infos, *props]]
    current = read_current(client, targets, list(infos.values()), sorted(set(props.values())))
    for ref, info in infos.items():
        raw = current[ref.target]
        out[ref] = (
            raw if isinstance(raw, ConnectorError) else from_jira(info, raw["fields"].get(info.id))
        )
    for ref, key in props.items():
        raw = current[ref.target]
        out[ref] = (
            raw if isinstance(raw, ConnectorError) else (raw.get("properties") or {}).get(key)
        )
    return out


@dataclass(slots=True)
class _Pending:
    write: FieldWrite
    info: FieldInfo
    value: object  # Jira JSON


def write_fields(
    client: JiraClient, writes: Sequence[FieldWrite]
) -> dict[FieldWrite, ConnectorError | None]:
    """Apply writes, changed fields only; None for a write done or already in place."""
    out: dict[FieldWrite, ConnectorError | None] = {}
    try:
        catalog = client.catalog()
    except ConnectorError as exc:
        return dict.fromkeys(writes, exc)
    by_target: dict[str, dict[str, _Pending]] = {}
    for write in writes:
        try:
            info = catalog.find(write.field)
            value = to_jira(info, write.value, write.target)
        except ConnectorError as exc:
            out[write] = exc
            continue
        by_target.setdefault(write.target, {})[info.id] = _Pending(write, info, value)
    infos = [p.info for fields in by_target.values() for p in fields.values()]
    current = read_current(client, list(by_target), infos)
    jobs = {
        target: partial(_write_issue, client, catalog, target, pending, current[target])
        for target, pending in by_target.items()
    }
    for target, result in run_all(client.settings.concurrency, jobs).items():
        if isinstance(result, ConnectorError):
            result = {p.write: result for p in by_target[target].values()}
        out.update(result)
    # A write repeated for the same field shares the outcome of the one sent.
    for write in writes:
        if write not in out:
            same = catalog.get(write.field)
            pending = by_target.get(write.target, {}).get(same.id if same else "")
            out[write] = out.get(pending.write) if pending else None
    return out


def _write_issue(
    client: JiraClient,
    catalog: FieldCatalog,
    target: str,
    pending: dict[str, _Pending],
    current: Raw | ConnectorError,
) -> dict[FieldWrite, ConnectorError | None]:
    if isinstance(current, ConnectorError):
        raise current
    fields = current.get("fields") or {}
    out: dict[FieldWrite, ConnectorError | None] = {}
    changed: dict[str, _Pending] = {}
    for field_id, p in pending.items():
        if same_value(p.info, from_jira(p.info, fields.get(field_id)), p.write.value):
            out[p.write] = None
        else:
            changed[field_id] = p
    project = _project(target, current)
    issue_id = str(current.get("id") or target)
    for _ in range(2):  # a second PUT without the fields Jira refused
        if not changed:
            break
        body = {"fields": {fid: p.value for fid, p in changed.items()}}
        try:
            client.put_json(f"issue/{issue_id}", body, params={"notifyUsers": "false"})
        except JIRAError as exc:
            refused = _refused_fields(client, exc, target, project, changed)
            if refused is None:
                error = client.map_error(exc, Context("field update", issue=target))
                out.update({p.write: error for p in changed.values()})
                return out
            for fid, error in refused.items():
                out[changed.pop(fid).write] = error
            continue
        except Exception as exc:
            error = client.map_error(exc, Context("field update", issue=target))
            out.update({p.write: error for p in changed.values()})
            return out
        out.update({p.write: None for p in changed.values()})
        changed = {}
    return out


def _refused_fields(
    client: JiraClient, exc: JIRAError, target: str, project: str, changed: dict[str, _Pending]
) -> dict[str, ConnectorError] | None:
    """Per-field errors of a 400 naming fields we sent; None for any other failure."""
    if status_of(exc) != 400:
        return None
    _, errors = jira_messages(exc)
    named = {fid: msg for fid, msg in errors.items() if fid in changed}
    if not named:
        return None
    try:
        editable: set[str] | None = set(client.editmeta(target).get("fields", {}))
    except ConnectorError:  # the edit screen is only used to word the message
        editable = None
    out: dict[str, ConnectorError] = {}
    for fid, message in named.items():
        name = changed[fid].info.name
        if editable is None or fid not in editable:
            out[fid] = not_editable(name, target, project)
        else:
            out[fid] = FieldNotEditableError(
                f"Jira refused the value for field '{name}' on {target}: {message}", status=400
            )
    return out
