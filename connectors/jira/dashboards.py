"""Jira filters and a dashboard showing the OKR fields okrsync writes.

``ensure_filters`` keeps one saved filter per ``FilterSpec`` (created on first use,
shared as asked, the OKR fields as its columns). A filter okrsync created before is
found by the id okrsync recorded, however people renamed it: its name, columns and
sharing are then theirs; only its JQL follows the mappings. ``ensure_dashboard`` (Cloud
only: Data Center's REST API cannot create a dashboard) keeps a dashboard with a
filter-results gadget per objective filter and a pie chart of every key result by OKR
Status. Nothing existing is changed without a reason, so a run after a run sends only
reads. Cloud calls go to ``/rest/api/3``, Data Center's to ``/rest/api/2``.

Gadget settings are kept as the dashboard item property ``config`` with string values,
the form Jira's own gadgets read their preferences in (inferred: the REST API documents
item properties, not the built-in gadgets' preference names).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connectors.base import ConnectorError
from connectors.jira.client import JiraClient
from connectors.jira.errors import Context

FILTER_RESULTS = "com.atlassian.jira.gadgets:filter-results-gadget"
PIE_CHART = "com.atlassian.jira.gadgets:pie-chart-gadget"
#: (kind, name) -> tracker id of what okrsync created before (from its state store).
Recorded = Mapping[tuple[str, str], str]
#: Called with (kind, name, id) as soon as something is created, so it is never lost.
Remember = Callable[[str, str, str], None]
Action = Literal["create", "exists", "update", "recreate"]


@dataclass(frozen=True, slots=True)
class Share:
    """Who may see what okrsync creates: a group and/or a project (key or id); neither:
    only the user okrsync signs in as."""

    group: str | None = None
    project: str | None = None

    @property
    def private(self) -> bool:
        return self.group is None and self.project is None

    def describe(self) -> str:
        parts = [f"group '{self.group}'"] if self.group else []
        parts += [f"project {self.project}"] if self.project else []
        return " and ".join(parts) or "nobody: private to the okrsync user"


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A filter okrsync keeps: ``name`` is okrsync's own key for it (``objective:ID`` or
    ``all``), ``title`` the filter's name when created."""

    name: str
    title: str
    jql: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """What was (or, on a dry run, would be) done to one object; ``id`` is None for an
    object a dry run would create. ``title`` is its name in Jira."""

    kind: Literal["filter", "dashboard", "gadget"]
    name: str
    title: str
    action: Action
    id: str | None = None
    note: str = ""


def _url(client: JiraClient, path: str) -> str:
    version = "3" if client.flavour == "cloud" else "2"
    return f"{client.jira.server_url.rstrip('/')}/rest/api/{version}/{path}"


def _send(
    client: JiraClient,
    method: str,
    path: str,
    what: str,
    *,
    body: Any = None,
    form: Sequence[tuple[str, str]] | None = None,
) -> Any:
    """One call through the library's session (its auth and errors), under the retry
    policy (``POST`` is never repeated blindly); the parsed answer or None."""
    url = _url(client, path)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    if form is not None:
        kwargs["data"] = list(form)
        kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.call(
        lambda: client.jira._session.request(method, url, **kwargs),
        idempotent=method != "POST",
        ctx=Context(what),
    )
    return response.json() if response.content else None


def _read(client: JiraClient, path: str, what: str) -> Any | None:
    """A GET; None when Jira says the object is not there (404, or the 400 Jira answers
    for a filter that was deleted or is no longer shared with the user)."""
    try:
        return _send(client, "GET", path, what)
    except ConnectorError as exc:
        if exc.status in (400, 404):
            return None
        raise


class _Project:
    """The id of the shared project, looked up once, only when something is created."""

    def __init__(self, client: JiraClient, share: Share):
        self.client = client
        self.share = share
        self._id: str | None = None

    def id(self) -> str:
        if self._id is None:
            assert self.share.project is not None
            found = _send(self.client, "GET", f"project/{self.share.project}", "project read")
            self._id = str(found["id"])
        return self._id


def _cloud_shares(share: Share, project: _Project) -> list[dict[str, Any]]:
    shares: list[dict[str, Any]] = []
    if share.group:
        shares.append({"type": "group", "group": {"name": share.group}})
    if share.project:
        shares.append({"type": "project", "project": {"id": project.id()}})
    return shares


def _create_filter(
    client: JiraClient,
    spec: FilterSpec,
    share: Share,
    project: _Project,
    columns: Sequence[str],
    remember: Remember,
) -> str:
    body: dict[str, Any] = {"name": spec.title, "description": spec.description, "jql": spec.jql}
    cloud = client.flavour == "cloud"
    if cloud:
        body["sharePermissions"] = _cloud_shares(share, project)
    try:
        made = _send(client, "POST", "filter", "filter creation", body=body)
    except ConnectorError as exc:
        if exc.status == 400 and "same name" in exc.message:
            raise ConnectorError(
                f"Jira user of connection '{client.name}' already has a filter named "
                f"'{spec.title}' that okrsync did not record (made by hand, or by okrsync "
                "with another state database): rename or delete it, or choose another "
                "[dashboards] name",
                status=400,
            ) from exc
        raise
    filter_id = str(made["id"])
    remember("filter", spec.name, filter_id)
    if not cloud:
        # Data Center shares a filter through its permission resource.
        if share.group:
            grant = {"type": "group", "groupname": share.group}
            _send(client, "POST", f"filter/{filter_id}/permission", "filter sharing", body=grant)
        if share.project:
            grant = {"type": "project", "projectId": project.id()}
            _send(client, "POST", f"filter/{filter_id}/permission", "filter sharing", body=grant)
    path = f"filter/{filter_id}/columns"
    if columns and cloud:
        # Cloud documents a JSON body (``ColumnRequestBody``) beside the form data.
        _send(client, "PUT", path, "filter columns", body={"columns": list(columns)})
    elif columns:
        # Data Center takes the columns as form data only.
        form = [("columns", column) for column in columns]
        _send(client, "PUT", path, "filter columns", form=form)
    return filter_id


def ensure_filters(
    client: JiraClient,
    specs: Sequence[FilterSpec],
    recorded: Recorded,
    remember: Remember,
    *,
    share: Share,
    columns: Sequence[str],
    dry_run: bool = False,
) -> list[Step]:
    """Keep each filter of ``specs``: find it by its recorded id, else create it (with
    ``columns``, shared as ``share`` says); a found filter whose JQL differs from the
    spec's gets the spec's JQL (its name, maybe a person's, is kept)."""
    project = _Project(client, share)
    steps: list[Step] = []
    for spec in specs:
        known = recorded.get(("filter", spec.name))
        found = _read(client, f"filter/{known}", "filter read") if known else None
        if found is None:
            action: Action = "recreate" if known else "create"
            note = "okrsync's filter was deleted" if known else ""
            if dry_run:
                steps.append(Step("filter", spec.name, spec.title, action, None, note))
                continue
            filter_id = _create_filter(client, spec, share, project, columns, remember)
            steps.append(Step("filter", spec.name, spec.title, action, filter_id, note))
            continue
        title = str(found.get("name", spec.title))
        renamed = f"renamed from '{spec.title}'" if title != spec.title else ""
        if str(found.get("jql", "")) == spec.jql:
            steps.append(Step("filter", spec.name, title, "exists", known, renamed))
            continue
        if not dry_run:
            body = {"name": title, "jql": spec.jql}
            _send(client, "PUT", f"filter/{known}", "filter update", body=body)
        note = f"JQL now {spec.jql}" + (f"; {renamed}" if renamed else "")
        steps.append(Step("filter", spec.name, title, "update", known, note))
    return steps


@dataclass(frozen=True, slots=True)
class GadgetSpec:
    """A gadget okrsync keeps on its dashboard (``name`` as for ``FilterSpec``)."""

    name: str
    title: str
    module_key: str
    config: Mapping[str, str]


def gadget_specs(
    objective_filters: Sequence[tuple[FilterSpec, str | None]],
    all_filter: str | None,
    status_field: str | None,
) -> list[GadgetSpec]:
    """A filter-results gadget per objective filter and, when the OKR Status field
    exists, a pie chart of every key result by it. A filter
    id is None on a dry run, before the filter exists."""
    out = [
        GadgetSpec(
            spec.name,
            spec.title,
            FILTER_RESULTS,
            {"filterId": f"filter-{filter_id}", "num": "50", "isConfigured": "true"},
        )
        for spec, filter_id in objective_filters
    ]
    if status_field:
        config = {
            "projectOrFilterId": f"filter-{all_filter}",
            "statType": status_field,
            "isConfigured": "true",
        }
        out.append(GadgetSpec("status-chart", "Key results by OKR Status", PIE_CHART, config))
    return out


def ensure_dashboard(
    client: JiraClient,
    name: str,
    gadgets: Sequence[GadgetSpec],
    recorded: Recorded,
    remember: Remember,
    *,
    share: Share,
    refilter: frozenset[str] = frozenset(),
    dry_run: bool = False,
) -> list[Step]:
    """Keep okrsync's dashboard (Cloud) and its gadgets: found by recorded id, created
    when missing; a gadget okrsync recorded that is gone from it is added again, and one
    named in ``refilter`` (its filter was created anew) is pointed at its new filter."""
    known = recorded.get(("dashboard", "okrs"))
    found = _read(client, f"dashboard/{known}", "dashboard read") if known else None
    steps: list[Step] = []
    if found is None:
        action: Action = "recreate" if known else "create"
        if dry_run:
            steps.append(Step("dashboard", "okrs", name, action))
            steps += [Step("gadget", g.name, g.title, "create") for g in gadgets]
            return steps
        body: dict[str, Any] = {
            "name": name,
            "description": "Key results and their OKR fields, kept by okrsync",
            "sharePermissions": _cloud_shares(share, _Project(client, share)),
            "editPermissions": [],
        }
        made = _send(client, "POST", "dashboard", "dashboard creation", body=body)
        dashboard_id = str(made["id"])
        remember("dashboard", "okrs", dashboard_id)
        note = str(made.get("view", ""))
        steps.append(Step("dashboard", "okrs", name, action, dashboard_id, note))
        present: set[str] = set()
    else:
        dashboard_id = str(known)
        title = str(found.get("name", name))
        steps.append(Step("dashboard", "okrs", title, "exists", dashboard_id))
        listed = _send(client, "GET", f"dashboard/{dashboard_id}/gadget", "gadget list")
        present = {str(g["id"]) for g in (listed or {}).get("gadgets", [])}
    for gadget in gadgets:
        gadget_id = recorded.get(("gadget", gadget.name))
        if gadget_id is not None and gadget_id in present:
            if gadget.name not in refilter:
                steps.append(Step("gadget", gadget.name, gadget.title, "exists", gadget_id))
                continue
            if not dry_run:
                _configure(client, dashboard_id, gadget_id, gadget)
            note = "shows the new filter"
            steps.append(Step("gadget", gadget.name, gadget.title, "update", gadget_id, note))
            continue
        if dry_run:
            steps.append(Step("gadget", gadget.name, gadget.title, "create"))
            continue
        # No position: the spec's position schema names its keys by their descriptions
        # ("The row position of the gadget."), which real Jira does not take; Jira adds
        # each gadget below the last, in the order given.
        body = {"moduleKey": gadget.module_key, "title": gadget.title, "color": "blue"}
        made = _send(
            client, "POST", f"dashboard/{dashboard_id}/gadget", "gadget creation", body=body
        )
        gadget_id = str(made["id"])
        remember("gadget", gadget.name, gadget_id)
        _configure(client, dashboard_id, gadget_id, gadget)
        steps.append(Step("gadget", gadget.name, gadget.title, "create", gadget_id))
    return steps


def _configure(client: JiraClient, dashboard_id: str, gadget_id: str, gadget: GadgetSpec) -> None:
    path = f"dashboard/{dashboard_id}/items/{gadget_id}/properties/config"
    _send(client, "PUT", path, "gadget configuration", body=dict(gadget.config))
