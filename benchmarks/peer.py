"""The baseline peer: what a team writes today instead of okrsync.

A script that walks the key results one after another and, for each, reads its scopes
and writes its fields back. It computes the same progress as okrsync (it converts what
it read into okrsync's work items and calls okrsync's own engine: the arithmetic is not
what differs), but it is naive in how it talks to the trackers:

- **One KR at a time, one scope at a time, no concurrency.** A scope shared by several
  key results is read again for each of them.
- **Jira through the pycontribs ``jira`` client with its defaults:** ``search_issues(jql,
  maxResults=False)`` with no field list, so every field of every issue comes back. The
  JQL selects the same items okrsync's Jira connector reads: a ``jql`` scope as written
  (sub-tasks left out after reading unless ``include_subtasks``), an epics scope as the
  epics' children (``parent in (...)`` on Cloud, the Epic Link on Data Center), listed
  issues as ``key in (...)``, and ``parent in (...)`` for sub-tasks when asked for.
- **Teambition over its open API with plain ``httpx``:** the same app token okrsync
  signs, each listing paged to its end.
- **Every field written every run:** no reading back, no comparison, one Jira ``PUT`` per
  target issue and one Teambition ``customfield/update`` per field. Field names are
  resolved once per run (Jira's field list, each Teambition project's custom fields).

Run it as ``python -m benchmarks.peer --config CONFIG.toml --mappings DIR --now ISO8601
--out FILE.json``; the output holds each KR's progress (a 0..1 ratio, as okrsync reports
it, or null when unknown), the write requests and all HTTP requests sent (429 retries
included), and ``errors``: the KRs whose scopes or targets failed, with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import jira
import jwt
from jira.exceptions import JIRAError
from jwt.warnings import InsecureKeyLengthWarning

from connectors.base import ConnectorError
from connectors.jira.fields import FieldCatalog, FieldInfo, to_jira
from connectors.jira.query import ItemFields, chunks, clause_name, keys_in, to_work_item
from connectors.jira.settings import JiraConnection
from connectors.teambition.settings import TeambitionConnection
from connectors.teambition.tasks import (
    CUSTOMFIELD_SEARCH,
    CUSTOMFIELD_UPDATE,
    PROJECT_QUERY,
    PROJECT_TASKS,
    TASK_QUERY,
    FieldDef,
    cf_values,
    encode_value,
    find_field,
    flag,
    is_story_points,
    number,
    scope_tql,
    story_points,
    to_item,
)
from mappings.engine import evaluate_kr
from mappings.forecast import forecast
from mappings.items import WorkItem
from mappings.loader import load_mappings
from mappings.results import KrResult
from mappings.schema import (
    JiraEpicsScope,
    JiraEpicsTarget,
    JiraIssuesScope,
    JiraIssueTarget,
    JqlScope,
    KeyResult,
    Scope,
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTaskTarget,
    TeambitionTqlScope,
)
from mappings.tree import OkrTree
from okrsync.config.settings import load_settings
from okrsync.sync.plan import Desired, TargetSpec, desired_values
from okrsync.sync.reads import FORECAST_WINDOW_DAYS
from okrsync.sync.select import kr_period

__all__ = ["Counter", "JiraPeer", "PeerError", "TeambitionPeer", "main", "run_peer"]

Raw = dict[str, Any]
TEAMBITION_PAGE_SIZE = 100
TEAMBITION_ATTEMPTS = 10


class PeerError(Exception):
    """A scope or target the peer cannot read or write (the KR's progress is then null)."""


@dataclass(slots=True)
class Counter:
    """HTTP requests sent and, among them, the write requests."""

    requests: int = 0
    writes: int = 0


# --------------------------------------------------------------------------- Jira


class JiraPeer:
    """One Jira site through the pycontribs ``jira`` client, used the plain way."""

    def __init__(self, name: str, settings: JiraConnection, counter: Counter) -> None:
        """Connect (the client's own ``serverInfo`` call, counted) and keep the counter."""
        self.name = name
        self.settings = settings
        self.counter = counter
        url = str(settings.url).rstrip("/")
        options: dict[str, Any] = {"verify": settings.verify_tls}
        if settings.pat is not None:
            self.client = jira.JIRA(
                server=url, token_auth=settings.pat.get_secret_value(), options=options
            )
        else:
            assert settings.email is not None and settings.api_token is not None
            self.client = jira.JIRA(
                server=url,
                basic_auth=(settings.email, settings.api_token.get_secret_value()),
                options=options,
            )
        counter.requests += 1  # the constructor's serverInfo, sent before the hook below
        self.client._session.hooks["response"].append(self._count)
        if settings.flavour == "auto":
            self.cloud = self.client.deploymentType == "Cloud"
        else:
            self.cloud = settings.flavour == "cloud"
        self._catalog: FieldCatalog | None = None

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.counter.requests += 1

    def catalog(self) -> FieldCatalog:
        """The site's fields, read once (``GET /field``)."""
        if self._catalog is None:
            self._catalog = FieldCatalog(self.client.fields(), self.name)
        return self._catalog

    def field(self, name: str) -> FieldInfo:
        """The field of that name (or id)."""
        try:
            return self.catalog().find(name)
        except ConnectorError as exc:
            raise PeerError(exc.message) from None

    def item_fields(self, names: Sequence[str]) -> ItemFields:
        """Which fields feed the estimate, the epic link and the measure's named numbers."""
        catalog = self.catalog()
        wanted = self.settings.estimate_field
        estimate_names = (wanted, "Story point estimate") if wanted == "Story Points" else (wanted,)
        estimate = next((f for f in map(catalog.get, estimate_names) if f is not None), None)
        epic_link = None if self.cloud else catalog.epic_link
        return ItemFields(estimate, epic_link, {n: self.field(n) for n in names})

    def search(self, jql: str) -> list[Raw]:
        """Every issue matching ``jql`` with every field (the client's default)."""
        issues = self.client.search_issues(jql, maxResults=False)
        assert not isinstance(issues, dict)
        return [issue.raw for issue in issues]

    def read(self, scope: Scope, names: Sequence[str]) -> list[WorkItem]:
        """The scope's items, the same set okrsync's Jira connector reads."""
        spec = self.item_fields(names)
        if isinstance(scope, JqlScope):
            items = [to_work_item(raw, spec) for raw in self.search(scope.jql)]
            return [i for i in items if scope.include_subtasks or not i.is_subtask]
        if isinstance(scope, JiraEpicsScope):
            if self.cloud:
                clause = "parent"
            elif spec.epic_link is not None:
                clause = clause_name(spec.epic_link)
            else:
                raise PeerError(f"Jira connection '{self.name}' has no Epic Link field")
            children = [
                raw
                for chunk in chunks(sorted(set(scope.epics)))
                for raw in self.search(keys_in(clause, chunk))
            ]
            raws = [r for r in children if not _is_subtask(r)]
            if scope.include_subtasks:
                raws += self._subtasks([str(r["key"]) for r in raws])
            return [to_work_item(raw, spec) for raw in _unique(raws)]
        if isinstance(scope, JiraIssuesScope):
            listed = [
                raw
                for chunk in chunks(list(scope.issues))
                for raw in self.search(keys_in("key", chunk))
            ]
            if scope.include_subtasks:
                listed += self._subtasks(list(scope.issues))
            return [to_work_item(raw, spec) for raw in _unique(listed)]
        raise PeerError(f"a Jira connection cannot read a {scope.kind} scope")

    def _subtasks(self, parents: Sequence[str]) -> list[Raw]:
        return [raw for chunk in chunks(parents) for raw in self.search(keys_in("parent", chunk))]

    def write(self, key: str, values: Sequence[Desired]) -> None:
        """Every value onto the issue, in one ``PUT``, whatever it holds now."""
        fields: dict[str, object] = {}
        for desired in values:
            info = self.field(desired.slot.field)
            try:
                fields[info.id] = to_jira(info, desired.value, key)
            except ConnectorError as exc:
                raise PeerError(exc.message) from None
        if not fields:
            return
        url = self.client._get_url(f"issue/{key}")
        self.counter.writes += 1
        response = self.client._session.put(url, data=json.dumps({"fields": fields}))
        response.raise_for_status()

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()


def _is_subtask(raw: Mapping[str, Any]) -> bool:
    issuetype = (raw.get("fields") or {}).get("issuetype") or {}
    return bool(issuetype.get("subtask", False))


def _unique(raws: Sequence[Raw]) -> list[Raw]:
    return list({str(raw["id"]): raw for raw in raws}.values())


# --------------------------------------------------------------------------- Teambition


def _retry_after(header: str | None) -> float:
    """Seconds a 429's ``Retry-After`` asks to wait (1 when it says nothing usable)."""
    try:
        return min(max(float(header or 1.0), 0.0), 60.0)
    except ValueError:
        return 1.0


class TeambitionPeer:
    """One Teambition organization over its open API with plain ``httpx``."""

    def __init__(self, name: str, settings: TeambitionConnection, counter: Counter) -> None:
        """An HTTP client with the organization's headers; the app token is signed per call."""
        self.name = name
        self.settings = settings
        self.counter = counter
        headers = {"X-Tenant-Id": settings.tenant_id, "X-Tenant-Type": "organization"}
        if settings.operator_id:
            headers["X-Operator-Id"] = settings.operator_id
        self.http = httpx.Client(
            base_url=str(settings.base_url).rstrip("/") + "/",
            headers=headers,
            timeout=settings.timeout,
        )
        self._fields: dict[str, list[FieldDef]] = {}
        self._prefixes: dict[str, str | None] = {}

    def token(self) -> str:
        """The app token okrsync signs: an HS256 JWT ``{_appId, iat, exp}``."""
        issued = int(time.time())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(
                {"_appId": self.settings.app_id, "iat": issued, "exp": issued + 3600},
                self.settings.app_secret.get_secret_value(),
                algorithm="HS256",
            )

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> Raw:
        """One request; its envelope, or ``PeerError`` for an error status or code.

        A 429 (Teambition's quota of 40 requests a second per endpoint) is waited out as
        its ``Retry-After`` says and sent again, as any script must.
        """
        for _ in range(TEAMBITION_ATTEMPTS):
            self.counter.requests += 1
            if method != "GET":
                self.counter.writes += 1
            response = self.http.request(
                method,
                path.lstrip("/"),
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {self.token()}"},
            )
            if response.status_code != 429:
                break
            time.sleep(_retry_after(response.headers.get("Retry-After")))
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if response.status_code >= 400 or not isinstance(envelope, dict):
            raise PeerError(f"Teambition {method} {path}: HTTP {response.status_code}")
        if str(envelope.get("code", 200)).strip() != "200":
            raise PeerError(f"Teambition {method} {path}: {envelope.get('errorMessage')}")
        return envelope

    def listing(self, path: str, params: Mapping[str, str]) -> list[Raw]:
        """Every result of a listing, page by page."""
        out: list[Raw] = []
        token = ""
        while True:
            query: dict[str, str | int] = {**params, "pageSize": TEAMBITION_PAGE_SIZE}
            if token:
                query["pageToken"] = token
            body = self.call("GET", path, query)
            page = [t for t in body.get("result") or [] if isinstance(t, dict)]
            out.extend(page)
            token = str(body.get("nextPageToken") or "")
            if not token or not page:
                return out

    def prefix(self, project_id: str) -> str | None:
        """The project's short-id prefix (``MOB``), looked up once."""
        if project_id not in self._prefixes:
            found = self.listing(PROJECT_QUERY, {"projectIds": project_id})
            prefix = next((p.get("uniqueIdPrefix") for p in found if p.get("id") == project_id), "")
            self._prefixes[project_id] = str(prefix or "") or None
        return self._prefixes[project_id]

    def fields(self, project_id: str) -> list[FieldDef]:
        """The project's custom fields, looked up once."""
        if project_id not in self._fields:
            raw = self.listing(CUSTOMFIELD_SEARCH.format(projectId=project_id), {})
            self._fields[project_id] = [FieldDef.of(f) for f in raw if f.get("id")]
        return self._fields[project_id]

    def field(self, project_id: str, name: str) -> FieldDef:
        """The custom field ``name`` of a project."""
        found = find_field(self.fields(project_id), name)
        if found is None:
            raise PeerError(f"Teambition project {project_id} has no custom field '{name}'")
        return found

    def read(self, scope: Scope, names: Sequence[str]) -> list[WorkItem]:
        """The scope's tasks as work items, the same set okrsync's connector reads."""
        parent: str | None = None
        if isinstance(scope, TeambitionParentScope):
            parent = scope.task
            body = self.call("GET", TASK_QUERY, {"parentTaskId": scope.task})
            tasks = [
                t
                for t in body.get("result") or []
                if isinstance(t, dict) and t.get("id") and t["id"] != parent
            ]
            tasks = [t for t in tasks if not flag(t.get("isArchived"))]
        elif isinstance(scope, TeambitionTqlScope | TeambitionTagsScope | TeambitionSprintScope):
            path = PROJECT_TASKS.format(projectId=scope.project)
            tasks = self.listing(path, {"q": scope_tql(scope)})
        else:
            raise PeerError(f"a Teambition connection cannot read a {scope.kind} scope")
        unique = list({str(t["id"]): t for t in tasks if t.get("id")}.values())
        items: list[WorkItem] = []
        for task in unique:
            project = str(task.get("projectId") or "")
            estimate = story_points(task.get("storyPoint"))
            values: dict[str, float | None] = {}
            for name in names:
                if is_story_points(name):
                    values[name] = estimate
                    continue
                found = cf_values(task, self.field(project, name).id)
                values[name] = number(found[0].get("title")) if found else None
            items.append(
                to_item(task, prefix=self.prefix(project), fields=values, children_of=parent)
            )
        return items

    def write(self, task_id: str, values: Sequence[Desired]) -> None:
        """Every value onto the task, one ``customfield/update`` each, whatever it holds."""
        body = self.call("GET", TASK_QUERY, {"taskId": task_id})
        tasks = [t for t in body.get("result") or [] if isinstance(t, dict)]
        if not tasks:
            raise PeerError(f"Teambition has no task '{task_id}'")
        project = str(tasks[0].get("projectId") or "")
        for desired in values:
            cf = self.field(project, desired.slot.field)
            try:
                items = encode_value(cf, desired.value)
            except ConnectorError as exc:
                raise PeerError(exc.message) from None
            update = {
                "customfieldId": cf.id,
                "value": items,
                "disableActivity": True,
                "disableNotification": True,
            }
            self.call("POST", CUSTOMFIELD_UPDATE.format(taskId=task_id), body=update)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()


# --------------------------------------------------------------------------- the run


@dataclass(slots=True)
class PeerRun:
    """What one run computed and sent."""

    progress: dict[str, float | None] = field(default_factory=dict)
    results: dict[str, KrResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    counter: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """The output document."""
        return {
            "progress": self.progress,
            "writes": self.counter.writes,
            "requests": self.counter.requests,
            "errors": self.errors,
        }


Peer = JiraPeer | TeambitionPeer


def _pick(peers: Mapping[str, Peer], tracker: str, name: str | None) -> Peer:
    if name is not None:
        if name not in peers:
            raise PeerError(f"no {tracker} connection named '{name}'")
        return peers[name]
    if len(peers) != 1:
        raise PeerError(f"{len(peers)} {tracker} connections: name one in the mapping")
    return next(iter(peers.values()))


def _measure_fields(kr: KeyResult) -> list[str]:
    name = getattr(kr.measure, "field", None)
    return [name] if isinstance(name, str) and name else []


def _targets(tree: OkrTree, kr_id: str) -> list[tuple[str, str | None, str, TargetSpec]]:
    """``(tracker, connection, target, spec)`` of each write target of a KR."""
    kr = tree.key_results[kr_id].kr
    out: list[tuple[str, str | None, str, TargetSpec]] = []
    for write in tree.effective_write(kr_id):
        target = write.target
        keys: list[tuple[str, str, str | None]] = []
        if isinstance(target, JiraIssueTarget):
            keys.append(("jira", target.key, write.connection))
        elif isinstance(target, JiraEpicsTarget):
            for scope in kr.scope:
                if isinstance(scope, JiraEpicsScope):
                    name = write.connection or scope.connection
                    keys.extend(("jira", epic, name) for epic in scope.epics)
        elif isinstance(target, TeambitionTaskTarget):
            keys.append(("teambition", target.task, write.connection))
        for tracker, key, name in keys:
            spec = TargetSpec(
                kr_id=kr_id,
                source=tracker,
                connection=f"{tracker}:{name or ''}",
                target=key,
                fields=write.fields,
                progress_format=write.progress_format,
                home=not out,
            )
            out.append((tracker, name, key, spec))
    return out


def run_peer(config: Path, mappings: Path, now: datetime) -> PeerRun:
    """Read, compute and write every key result of ``mappings``, one after another."""
    settings = load_settings(config)
    tree = load_mappings(mappings)
    run = PeerRun()
    jiras = {n: JiraPeer(n, s, run.counter) for n, s in settings.jira.items()}
    teambitions = {n: TeambitionPeer(n, s, run.counter) for n, s in settings.teambition.items()}
    try:
        for kr_id, node in tree.key_results.items():
            kr = node.kr
            period = kr_period(tree, kr_id)
            try:
                items: list[WorkItem] = []
                for scope in kr.scope:
                    is_jira = scope.kind in ("jql", "jira_epics", "jira_issues")
                    peer: Peer = (
                        _pick(jiras, "jira", scope.connection)
                        if is_jira
                        else _pick(teambitions, "teambition", scope.connection)
                    )
                    items += peer.read(scope, _measure_fields(kr))
            except (PeerError, JIRAError, httpx.HTTPError) as exc:
                run.progress[kr_id] = None
                run.errors[kr_id] = str(exc)
                continue
            result = evaluate_kr(
                kr, items, period=period, now=now, thresholds=tree.thresholds(kr_id)
            )
            run.progress[kr_id] = result.progress
            run.results[kr_id] = result
            if result.progress is None:
                continue
            projection = forecast([(now, result.progress)], period, now, FORECAST_WINDOW_DAYS)
            end: date = period.end
            try:
                for tracker, name, key, spec in _targets(tree, kr_id):
                    values = desired_values(
                        result, spec, forecast=projection, period_end=end, synced_at=now
                    )
                    writer: Peer = (
                        _pick(jiras, "jira", name)
                        if tracker == "jira"
                        else _pick(teambitions, "teambition", name)
                    )
                    writer.write(key, values)
            except (PeerError, JIRAError, httpx.HTTPError) as exc:
                run.errors[kr_id] = f"write: {exc}"
    finally:
        opened: list[Peer] = [*jiras.values(), *teambitions.values()]
        for closing in opened:
            closing.close()
    return run


def _parse_now(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.peer --config C --mappings DIR --now ISO --out FILE``."""
    parser = argparse.ArgumentParser(prog="benchmarks.peer", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="okrsync settings (TOML)")
    parser.add_argument("--mappings", type=Path, required=True, help="OKR mapping files")
    parser.add_argument("--now", required=True, help="the clock reading, ISO 8601")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args(argv)
    run = run_peer(args.config, args.mappings, _parse_now(args.now))
    args.out.write_text(json.dumps(run.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
