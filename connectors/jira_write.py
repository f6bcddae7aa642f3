"""Reading and writing okrsync's fields on Jira issues, and creating those fields.

Writes compare first: the current values of every target come from one ``key in (...)``
search per 100 targets (a per-issue read for targets the search does not return), and only
changed fields are sent, all fields of one issue in one ``PUT ?notifyUsers=false``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from jira.exceptions import JIRAError

from connectors.base import (
    AuthError,
    ConnectorError,
    FieldNotEditableError,
    FieldRef,
    FieldWrite,
    QueryError,
)
from connectors.jira_client import JiraClient, run_all
from connectors.jira_errors import Context, jira_messages, status_of
from connectors.jira_fields import (
    CREATE_TYPES,
    FieldCatalog,
    FieldInfo,
    FieldSpec,
    from_jira,
    options_by_hand,
    same_value,
    to_jira,
)
from connectors.jira_query import PROJECT_FIELD, chunks, keys_in

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
    client: JiraClient, targets: Sequence[str], infos: Sequence[FieldInfo]
) -> dict[str, Raw | ConnectorError]:
    """Raw JSON (the given fields and project) of each target issue, or its error."""
    ids = [*dict.fromkeys(info.id for info in infos), PROJECT_FIELD]
    out: dict[str, Raw | ConnectorError] = {}
    for chunk in chunks(sorted(set(targets))):
        try:
            raws = client.search(keys_in("key", chunk), ids)
        except QueryError:
            raws = []  # e.g. one key does not exist: read each issue alone below
        except ConnectorError as exc:
            out.update(dict.fromkeys(chunk, exc))
            continue
        by_key = {raw.get("key"): raw for raw in raws}
        out.update({key: by_key[key] for key in chunk if key in by_key})
    missing = [key for key in targets if key not in out]
    out.update(
        run_all(client.settings.concurrency, {k: partial(client.issue, k, ids) for k in missing})
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
    for ref in refs:
        try:
            infos[ref] = catalog.find(ref.field)
        except ConnectorError as exc:
            out[ref] = exc
    current = read_current(client, [r.target for r in infos], list(infos.values()))
    for ref, info in infos.items():
        raw = current[ref.target]
        out[ref] = (
            raw if isinstance(raw, ConnectorError) else from_jira(info, raw["fields"].get(info.id))
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
        editable = set((client.jira.editmeta(target) or {}).get("fields", {}))
    except Exception:  # the edit screen is only used to word the message
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


# --------------------------------------------------------------------------- field creation


@dataclass(frozen=True, slots=True)
class CreatedField:
    """A field ``ensure_fields`` created (``id`` None on a dry run); ``note`` for a person."""

    spec: FieldSpec
    id: str | None
    note: str = ""


def ensure_fields(
    client: JiraClient, specs: Sequence[FieldSpec], *, dry_run: bool = False
) -> list[CreatedField]:
    """Create the fields of ``specs`` that do not exist yet (needs Jira admin rights)."""
    client.refresh()
    catalog = client.catalog()
    missing = [s for s in specs if not catalog.candidates(s.name)]
    created: list[CreatedField] = []
    for spec in missing:
        if dry_run:
            created.append(CreatedField(spec, None, "would be created"))
            continue
        type_key, searcher = CREATE_TYPES[spec.kind]
        body = {
            "name": spec.name,
            "description": spec.description,
            "type": type_key,
            "searcherKey": searcher,
        }
        try:
            answer = client.post_json("field", body, ctx=Context("field creation"))
        except AuthError as exc:
            if exc.status != 403:
                raise
            names = ", ".join(f"'{s.name}'" for s in missing)
            raise AuthError(
                f"creating custom fields needs Jira administrator rights, which connection "
                f"'{client.name}' lacks (HTTP 403): ask a Jira admin to run "
                f"'okrsync fields bootstrap' or to create {names}",
                status=403,
            ) from exc
        field_id = str(answer["id"])
        note = _add_options(client, field_id, spec.options) if spec.options else ""
        created.append(CreatedField(spec, field_id, note))
    if created and not dry_run:
        client.refresh()
    return created


def _add_options(client: JiraClient, field_id: str, options: Sequence[str]) -> str:
    """Give a new select field its options in its (default) context; returns a note."""
    if client.flavour == "datacenter":
        return options_by_hand(options)
    try:
        contexts = client.get_json(f"field/{field_id}/context", ctx=Context("field context read"))
        values = contexts.get("values") or [] if isinstance(contexts, dict) else []
        if values:
            context_id = str(values[0]["id"])
        else:
            made = client.post_json(
                f"field/{field_id}/context",
                {"name": "Default context (okrsync)", "issueTypeIds": [], "projectIds": []},
                ctx=Context("field context creation"),
            )
            context_id = str(made["id"])
        client.post_json(
            f"field/{field_id}/context/{context_id}/option",
            {"options": [{"value": option, "disabled": False} for option in options]},
            ctx=Context("field option creation"),
        )
    except ConnectorError as exc:
        return f"add its options by hand ({', '.join(options)}): {exc.message}"
    return f"options: {', '.join(options)}"
