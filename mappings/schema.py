"""The OKR mapping format: closed, frozen pydantic models of the YAML kept in git.

A mapping file looks like::

    version: 1
    defaults:
      write:
        fields: {progress: "OKR Progress", status: "OKR Status"}
    objectives:
      - id: pay-reliable-checkout
        title: Checkout that never loses a sale
        owner: ana@example.com
        period: 2026-Q4
        key_results:
          - id: pay-checkout-v2
            title: Ship checkout v2
            scope: {kind: jira_epics, epics: [PAY-1]}
            measure: {kind: points, field: Story Points, unestimated: mean}
            write: [{kind: jira_issue, key: OKR-1}]

Every model forbids unknown keys so that a typo is an error, never a silent default.
Scopes are hashable: identical scopes across KRs are fetched once.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
JIRA_KEY = r"^[A-Z][A-Z0-9_]+-[1-9][0-9]*$"
PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>Q[1-4]|H[12]|M(?:0[1-9]|1[0-2])))?$")
# A period outside these years is a typo (0226-Q4), not an OKR cycle; the bounds also keep
# date arithmetic away from year 0 and 9999.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)

# A number as YAML writes it: ints and floats, never true/false or quoted text, never
# .nan or .inf (every model sets allow_inf_nan=False), since any of those would be a typo
# that silently becomes 1.0, or a NaN that poisons every sum it enters.
Number = Annotated[float, Field(strict=True)]


class Closed(BaseModel):
    """Base of every mapping model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- scopes


class _ScopeBase(Closed):
    # Settings name each tracker connection; None means "the only one configured".
    connection: str | None = None
    # Sub-tasks are left out unless asked for, so that a story and its sub-tasks do not
    # count twice.
    include_subtasks: bool = False


class JqlScope(_ScopeBase):
    """Issues matching a JQL query."""

    kind: Literal["jql"]
    jql: Annotated[str, Field(min_length=1)]


class JiraEpicsScope(_ScopeBase):
    """The children of the given epics (``parent`` on Cloud, ``Epic Link`` on DC).

    An epic never counts itself among its own children, even if listed.
    """

    kind: Literal["jira_epics"]
    epics: Annotated[tuple[Annotated[str, Field(pattern=JIRA_KEY)], ...], Field(min_length=1)]


class JiraIssuesScope(_ScopeBase):
    """An explicit list of issues."""

    kind: Literal["jira_issues"]
    issues: Annotated[tuple[Annotated[str, Field(pattern=JIRA_KEY)], ...], Field(min_length=1)]


class TeambitionTqlScope(_ScopeBase):
    """Tasks of one Teambition project, optionally filtered by TQL."""

    kind: Literal["teambition_tql"]
    project: Annotated[str, Field(min_length=1)]
    tql: str = ""


class TeambitionParentScope(_ScopeBase):
    """The sub-tasks of one Teambition task (never the parent itself)."""

    kind: Literal["teambition_parent"]
    task: Annotated[str, Field(min_length=1)]


class TeambitionTagsScope(_ScopeBase):
    """Tasks of a project carrying any of the given tag ids."""

    kind: Literal["teambition_tags"]
    project: Annotated[str, Field(min_length=1)]
    tags: Annotated[tuple[str, ...], Field(min_length=1)]


class TeambitionSprintScope(_ScopeBase):
    """Tasks of a project in one sprint."""

    kind: Literal["teambition_sprint"]
    project: Annotated[str, Field(min_length=1)]
    sprint: Annotated[str, Field(min_length=1)]


Scope = Annotated[
    JqlScope
    | JiraEpicsScope
    | JiraIssuesScope
    | TeambitionTqlScope
    | TeambitionParentScope
    | TeambitionTagsScope
    | TeambitionSprintScope,
    Field(discriminator="kind"),
]

JIRA_SCOPES = (JqlScope, JiraEpicsScope, JiraIssuesScope)
TEAMBITION_SCOPES = (
    TeambitionTqlScope,
    TeambitionParentScope,
    TeambitionTagsScope,
    TeambitionSprintScope,
)


def scope_source(scope: BaseModel) -> str:
    """The tracker a scope reads from: "jira" or "teambition"."""
    return "jira" if isinstance(scope, JIRA_SCOPES) else "teambition"


# --------------------------------------------------------------------------- measures


class DoneRule(Closed):
    """When an item counts as done.

    ``status_category`` (default): Jira's Done category / Teambition's isDone.
    ``statuses``: the status name is one of ``statuses`` (case-insensitive).
    ``resolution``: the item has a resolution (any, or one of ``resolutions``).
    """

    by: Literal["status_category", "statuses", "resolution"] = "status_category"
    statuses: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _statuses_given(self) -> DoneRule:
        if self.by == "statuses" and not self.statuses:
            raise ValueError("by: statuses needs a non-empty 'statuses' list")
        # A list the rule does not read is a misunderstanding worth saying, not ignoring.
        if self.by != "statuses" and self.statuses:
            raise ValueError(f"'statuses' is only read with by: statuses (here by: {self.by})")
        if self.by != "resolution" and self.resolutions:
            raise ValueError(f"'resolutions' is only read with by: resolution (here by: {self.by})")
        return self


class _ItemMeasure(Closed):
    done: DoneRule = DoneRule()
    # Credit (0..1) for an item in progress (status category in_progress).
    in_progress_credit: Annotated[Number, Field(ge=0, le=1)] = 0.0


class CountMeasure(_ItemMeasure):
    """Done items / all items."""

    kind: Literal["count"]


class PointsMeasure(_ItemMeasure):
    """Done estimate / all estimate.

    ``unestimated``: ``ignore`` (left out of both sides), ``mean`` (the mean estimate of
    the scope's estimated items; 1 if none is estimated), or a number (each counts as it).
    A negative, NaN or infinite estimate is taken as no estimate.
    """

    kind: Literal["points"]
    field: str = "Story Points"
    unestimated: Literal["ignore", "mean"] | Annotated[Number, Field(ge=0)] = "ignore"


class MetricMeasure(Closed):
    """A number computed from the scope, moved linearly from ``start`` to ``target``.

    ``aggregate``: ``count`` (items matching the scope; with ``only: open`` or ``done``),
    ``sum``/``avg`` of ``field``, or ``value`` (the field of the single item in scope).
    Decreasing when ``target < start`` (20 open bugs -> 5: 11 open is 0.6).
    """

    kind: Literal["metric"]
    aggregate: Literal["count", "sum", "avg", "value"] = "count"
    field: str | None = None
    only: Literal["all", "open", "done"] = "all"
    done: DoneRule = DoneRule()
    start: Number
    target: Number

    @model_validator(mode="after")
    def _check(self) -> MetricMeasure:
        if self.aggregate != "count" and not self.field:
            raise ValueError(f"aggregate '{self.aggregate}' needs 'field'")
        if self.start == self.target:
            raise ValueError("start and target must differ")
        return self


class MaintainMeasure(Closed):
    """A health metric that must stay inside ``[min, max]``: met (1.0) or not (0.0)."""

    kind: Literal["maintain"]
    aggregate: Literal["count", "sum", "avg", "value"] = "count"
    field: str | None = None
    only: Literal["all", "open", "done"] = "all"
    done: DoneRule = DoneRule()
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _check(self) -> MaintainMeasure:
        if self.min is None and self.max is None:
            raise ValueError("maintain needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be greater than max")
        if self.aggregate != "count" and not self.field:
            raise ValueError(f"aggregate '{self.aggregate}' needs 'field'")
        return self


class MilestoneMeasure(Closed):
    """1.0 when every item in scope is done, else 0.0 (partial credit not given)."""

    kind: Literal["milestone"]
    done: DoneRule = DoneRule()


class ManualMeasure(Closed):
    """A value kept in the file, moved from ``start`` to ``target`` (default 0 -> 1)."""

    kind: Literal["manual"]
    value: Number
    start: Number = 0.0
    target: Number = 1.0

    @model_validator(mode="after")
    def _check(self) -> ManualMeasure:
        if self.start == self.target:
            raise ValueError("start and target must differ")
        return self


Measure = Annotated[
    CountMeasure
    | PointsMeasure
    | MetricMeasure
    | MaintainMeasure
    | MilestoneMeasure
    | ManualMeasure,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- write-back


class FieldNames(Closed):
    """Tracker field *names* (as people see them) for each value okrsync writes.

    A value whose field is not named is not written.
    """

    progress: str | None = None
    status: str | None = None
    summary: str | None = None
    expected: str | None = None
    forecast: str | None = None
    last_synced: str | None = None


class WriteDefaults(Closed):
    """Defaults for every write-back target in the file."""

    fields: FieldNames = FieldNames()
    progress_format: Literal["percent", "ratio"] = "percent"
    connection: str | None = None


class _TargetBase(Closed):
    connection: str | None = None
    # None: take the file's defaults. Given fields are merged over the defaults.
    fields: FieldNames | None = None
    progress_format: Literal["percent", "ratio"] | None = None


class JiraIssueTarget(_TargetBase):
    """Write onto one Jira issue."""

    kind: Literal["jira_issue"]
    key: Annotated[str, Field(pattern=JIRA_KEY)]


class JiraEpicsTarget(_TargetBase):
    """Write onto every epic of the KR's ``jira_epics`` scope."""

    kind: Literal["jira_epics"]


class TeambitionTaskTarget(_TargetBase):
    """Write onto one Teambition task (custom fields)."""

    kind: Literal["teambition_task"]
    task: Annotated[str, Field(min_length=1)]


WriteTarget = Annotated[
    JiraIssueTarget | JiraEpicsTarget | TeambitionTaskTarget, Field(discriminator="kind")
]
#: An objective's home: one issue or task (an objective has no epics of its own).
ObjectiveTarget = Annotated[JiraIssueTarget | TeambitionTaskTarget, Field(discriminator="kind")]


# --------------------------------------------------------------------------- KRs, objectives


class Thresholds(Closed):
    """Status against expected pace: how far (in progress points, 0..1) behind is risky.

    progress >= expected - at_risk_behind          -> on_track
    progress >= expected - off_track_behind        -> at_risk
    otherwise                                      -> off_track
    """

    at_risk_behind: Annotated[Number, Field(ge=0, le=1)] = 0.10
    off_track_behind: Annotated[Number, Field(ge=0, le=1)] = 0.25

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.off_track_behind < self.at_risk_behind:
            raise ValueError("off_track_behind must be >= at_risk_behind")
        return self


class Flags(Closed):
    """Per-KR switches."""

    # Write even when the scope drops to empty or loses more than the configured share.
    allow_drop: bool = False
    # A person's edit of the progress field wins and becomes the KR's progress.
    manual_override: bool = False
    # Post a comment on the home target when the status changes.
    checkins: bool | None = None
    # Progress and score may exceed 1.0 up to this cap (over-achievement).
    max_score: Annotated[Number, Field(ge=1.0, le=10.0)] = 1.0


class KeyResult(Closed):
    """One key result: what it looks at (scope), how it turns into progress (measure)."""

    id: Annotated[str, Field(pattern=IDENT)]
    title: Annotated[str, Field(min_length=1)]
    owner: str | None = None
    weight: Annotated[Number, Field(gt=0)] = 1.0
    scope: tuple[Scope, ...] = ()
    measure: Measure
    write: tuple[WriteTarget, ...] = ()
    thresholds: Thresholds | None = None
    flags: Flags = Flags()

    @field_validator("scope", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _needs_scope(self) -> KeyResult:
        if not self.scope and not isinstance(self.measure, ManualMeasure):
            raise ValueError(f"key result has no scope (measure '{self.measure.kind}' needs one)")
        return self


class PeriodRange(Closed):
    """An explicit period."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRange:
        if self.end < self.start:
            raise ValueError("end is before start")
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise ValueError(f"a period must lie between {FIRST_DAY} and {LAST_DAY}")
        return self


def _period_text(value: object) -> object:
    # YAML reads `period: 2026` as a number and `period: 2026-10-01` as a date; both are
    # meant as period text (the date then fails the format check with a clear message).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _check_period(value: str | PeriodRange) -> str | PeriodRange:
    if isinstance(value, str) and not PERIOD.match(value):
        raise ValueError("period must look like 2026, 2026-Q4, 2026-H2, 2026-M11 or {start, end}")
    if isinstance(value, str) and not FIRST_DAY.year <= int(value[:4]) <= LAST_DAY.year:
        raise ValueError(f"period year must be between {FIRST_DAY.year} and {LAST_DAY.year}")
    return value


class Objective(Closed):
    """An objective; ``parent`` aligns it under another objective (any file)."""

    id: Annotated[str, Field(pattern=IDENT)]
    title: Annotated[str, Field(min_length=1)]
    owner: str | None = None
    period: str | PeriodRange
    parent: str | None = None
    weight: Annotated[Number, Field(gt=0)] = 1.0
    key_results: tuple[KeyResult, ...] = ()
    thresholds: Thresholds | None = None
    # The issues or tasks that get the objective's roll-up (progress, status, summary...).
    write: tuple[ObjectiveTarget, ...] = ()

    _period_in = field_validator("period", mode="before")(_period_text)
    _period = field_validator("period")(_check_period)


class Defaults(Closed):
    """File-wide defaults."""

    write: WriteDefaults = WriteDefaults()
    thresholds: Thresholds = Thresholds()
    checkins: bool = False


class MappingFile(Closed):
    """One YAML file of the mappings directory."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
    objectives: tuple[Objective, ...] = ()
