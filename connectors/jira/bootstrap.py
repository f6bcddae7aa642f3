"""Creating okrsync's custom fields on a Jira site, and completing their select options.

``ensure_fields`` creates the fields that are missing (``POST /field``, Jira admin only).
On Cloud it also gives each select field (okrsync's "OKR Status") the options okrsync
writes, in every context of the field: for a new field, and for one that exists without
some of them (say, an earlier run created the field and then failed to add its options,
or someone disabled an option). Data Center has no REST endpoint for select options, so
there the result says how to add them by hand. A name that nearly repeats an existing
field's (a typo in the mapping) is not created unless asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connectors.base import AuthError, ConnectorError
from connectors.field_names import near_duplicates
from connectors.jira.client import JiraClient
from connectors.jira.errors import Context
from connectors.jira.fields import (
    CREATE_TYPES,
    FieldCatalog,
    FieldInfo,
    FieldSpec,
    options_by_hand,
)

# Pages of contexts or options read at most (50 contexts, 100 options per page).
MAX_PAGES = 100
FieldAction = Literal["create", "add options", "wrong type", "similar"]


@dataclass(frozen=True, slots=True)
class CreatedField:
    """What ``ensure_fields`` did (or, on a dry run, would do) for one field.

    ``action`` is ``create`` (``id`` is None on a dry run), ``add options`` (the field
    existed without some of its options; ``note`` names them), ``wrong type`` (a field
    of that name holds another kind of value; nothing was changed) or ``similar`` (not
    created: an existing field's name is nearly the same; ``note`` names it). ``note`` is
    for a person.
    """

    spec: FieldSpec
    id: str | None
    note: str = ""
    action: FieldAction = "create"


def ensure_fields(
    client: JiraClient,
    specs: Sequence[FieldSpec],
    *,
    dry_run: bool = False,
    allow_similar: bool = False,
) -> list[CreatedField]:
    """Create the fields of ``specs`` that do not exist yet (needs Jira admin rights) and,
    on Cloud, complete the options of the select fields that do.

    A missing field whose name differs from an existing field's only in case, spacing or
    a letter or two is most likely a typo in the mapping: it is not created (action
    ``similar``, ``note`` naming the existing field) unless ``allow_similar``.
    """
    client.refresh()
    catalog = client.catalog()
    existing = [f.name for f in catalog.fields]
    missing = [s for s in specs if not catalog.candidates(s.name)]
    similar = {s.name: near_duplicates(s.name, existing) for s in missing}
    if not allow_similar:
        missing = [s for s in missing if not similar[s.name]]
    done: list[CreatedField] = []
    for spec in specs:
        found = catalog.candidates(spec.name)
        if not found and similar[spec.name] and not allow_similar:
            done.append(_refuse_similar(catalog, spec, similar[spec.name]))
        elif not found:
            done.append(_create(client, spec, missing, dry_run))
        elif len(found) == 1:
            checked = _check_existing(client, spec, found[0], dry_run)
            if checked is not None:
                done.append(checked)
    if any(c.action in ("create", "add options") for c in done) and not dry_run:
        client.refresh()
    return done


def _refuse_similar(catalog: FieldCatalog, spec: FieldSpec, similar: Sequence[str]) -> CreatedField:
    """A field left uncreated because existing fields' names are nearly the same."""
    named = ", ".join(
        f"'{name}' ({', '.join(f.id for f in catalog.candidates(name))})" for name in similar
    )
    return CreatedField(
        spec,
        None,
        f"the site already has {named}, nearly the same name; write that "
        "name in the mapping's write fields, or rerun with --allow-similar if "
        f"'{spec.name}' is meant to be another field",
        "similar",
    )


def _create(
    client: JiraClient, spec: FieldSpec, missing: Sequence[FieldSpec], dry_run: bool
) -> CreatedField:
    if dry_run:
        return CreatedField(spec, None, "would be created")
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
    note = ""
    if spec.options:
        if client.flavour == "datacenter":
            note = options_by_hand(spec.options)
        else:
            try:
                _complete_options(client, field_id, spec.options, dry_run=False)
                note = f"options: {', '.join(spec.options)}"
            except ConnectorError as exc:
                note = f"add its options by hand ({', '.join(spec.options)}): {exc.message}"
    return CreatedField(spec, field_id, note)


def _check_existing(
    client: JiraClient, spec: FieldSpec, info: FieldInfo, dry_run: bool
) -> CreatedField | None:
    """None when the field is as okrsync needs it, else what was (or would be) done."""
    if info.kind != spec.kind:
        return CreatedField(
            spec,
            info.id,
            f"'{spec.name}' ({info.id}) holds {info.kind} values, okrsync writes "
            f"{spec.kind} values to it: rename that field, or name another one in the "
            "mapping's write fields",
            "wrong type",
        )
    if not spec.options or client.flavour == "datacenter":
        # Data Center cannot list a field's options over REST; `okrsync check` reads them
        # from each target's edit screen instead.
        return None
    try:
        added = _complete_options(client, info.id, spec.options, dry_run=dry_run)
    except ConnectorError as exc:
        return CreatedField(
            spec,
            info.id,
            f"cannot check its options ({exc.message}); make sure it offers "
            f"{', '.join(spec.options)}",
            "add options",
        )
    if not added:
        return None
    return CreatedField(spec, info.id, ", ".join(added), "add options")


def _pages(client: JiraClient, path: str, what: str) -> Iterator[dict[str, Any]]:
    """Every value of a paged list (``startAt``/``isLast``), bounded."""
    start = 0
    for _ in range(MAX_PAGES):
        page = client.get_json(path, ctx=Context(what), params={"startAt": start})
        values = page.get("values") or [] if isinstance(page, dict) else []
        yield from values
        start += len(values)
        if not values or page.get("isLast", True):
            return


def _complete_options(
    client: JiraClient, field_id: str, options: Sequence[str], *, dry_run: bool
) -> list[str]:
    """Give every context of a select field each of ``options`` (adding the missing
    ones, enabling disabled ones); returns the options that were (or would be) added or
    enabled. A field without a context gets a global one."""
    base = f"field/{field_id}/context"
    contexts = [str(c["id"]) for c in _pages(client, base, "field context read")]
    if not contexts:
        if dry_run:
            return list(options)
        made = client.post_json(
            base,
            {"name": "Default context (okrsync)", "issueTypeIds": [], "projectIds": []},
            ctx=Context("field context creation"),
        )
        contexts = [str(made["id"])]
    changed: list[str] = []
    for context_id in contexts:
        path = f"{base}/{context_id}/option"
        have = {str(o["value"]): o for o in _pages(client, path, "field option read")}
        missing = [value for value in options if value not in have]
        disabled = [have[v] for v in options if v in have and have[v].get("disabled")]
        changed += [v for v in missing + [str(o["value"]) for o in disabled] if v not in changed]
        if dry_run:
            continue
        if missing:
            client.post_json(
                path,
                {"options": [{"value": value, "disabled": False} for value in missing]},
                ctx=Context("field option creation"),
            )
        if disabled:
            body = {"options": [{"id": str(o["id"]), "disabled": False} for o in disabled]}
            client.send_json("PUT", path, body, ctx=Context("field option update"))
    return changed
