"""Large deterministic data sets for benchmarks and paging tests (``--seed generated:N``).

``generated_seed(n)`` holds ``n`` stories in project GEN spread over ``ceil(n / 50)`` epics
(also in GEN, keys GEN-1.. for epics first), with the demo's custom fields, random but
reproducible statuses, story points, labels and timestamps (``random.Random(n)``).
Timestamps fall in the year before ``now`` (the sandbox's clock, by default the wall
clock), never after it: an issue stamped in the future would match every incremental
query (``updated >= ...``) until that time came.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from okrsync.sandbox.jira.demo import FIELDS
from okrsync.sandbox.jira.seed import DEMO_USERS

CHILDREN_PER_EPIC = 50
SPAN_SECONDS = 330 * 24 * 3600  # creation times
EDIT_SECONDS = 30 * 24 * 3600  # last update after creation
POINTS = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0, None]
STATUSES = ["To Do", "In Progress", "In Review", "Done"]
LABELS = ["backend", "frontend", "checkout", "infra", "mobile"]
FMT = "%Y-%m-%dT%H:%M:%S.000+0000"


def generated_seed(
    count: int, project: str = "GEN", *, now: datetime | None = None
) -> dict[str, Any]:
    """A Jira seed section with ``count`` stories under ``ceil(count / 50)`` epics.

    Every time is before ``now`` (default: the current time); the same ``count`` and
    ``now`` give the same data.
    """
    rng = random.Random(count)
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    # The latest possible update (creation plus edit span) lands just before ``end``.
    start = end - timedelta(seconds=SPAN_SECONDS + EDIT_SECONDS)
    epics = max(1, math.ceil(count / CHILDREN_PER_EPIC))
    issues: list[dict[str, Any]] = []
    for n in range(1, epics + 1):
        created = start + timedelta(seconds=rng.randrange(SPAN_SECONDS // 2))
        issues.append(
            {
                "id": str(100000 + n),
                "key": f"{project}-{n}",
                "fields": {
                    "summary": f"Generated epic {n}",
                    "issuetype": {"name": "Epic"},
                    "status": {"name": "In Progress"},
                    "created": created.strftime(FMT),
                    "updated": created.strftime(FMT),
                },
            }
        )
    for i in range(count):
        n = epics + 1 + i
        created = start + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        updated = created + timedelta(seconds=rng.randrange(EDIT_SECONDS))
        issues.append(
            {
                "id": str(100000 + n),
                "key": f"{project}-{n}",
                "fields": {
                    "summary": f"Generated story {n}",
                    "issuetype": {"name": "Story"},
                    "status": {"name": rng.choice(STATUSES)},
                    "parent": {"key": f"{project}-{1 + i % epics}"},
                    "labels": rng.sample(LABELS, rng.randrange(3)),
                    "customfield_10016": rng.choice(POINTS),
                    "created": created.strftime(FMT),
                    "updated": updated.strftime(FMT),
                },
            }
        )
    return {
        "projects": [{"key": project, "name": "Generated", "id": "10100"}],
        "fields": [dict(f) for f in FIELDS],
        "users": [dict(u) for u in DEMO_USERS],
        "issues": issues,
    }
