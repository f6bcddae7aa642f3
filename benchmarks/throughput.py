"""The Jira sandbox's own search speed, so that a reader can see it is not the bottleneck.

One client (the pycontribs ``jira`` library, as okrsync's connector uses) pages through
every issue of a project on Cloud's ``/search/jql``, 100 issues a page (Cloud's cap when
fields are asked for), with the fields okrsync reads.
"""

from __future__ import annotations

import time
from typing import Any

from jira import JIRA

__all__ = ["search_throughput"]

FIELDS = ["summary", "issuetype", "status", "resolution", "parent", "labels", "updated"]
MAX_PAGES = 10_000


def search_throughput(
    url: str, email: str, token: str, jql: str, page_size: int = 100
) -> dict[str, Any]:
    """Page through ``jql`` once; issues, pages, seconds and issues per second."""
    client = JIRA(
        server=url,
        basic_auth=(email, token),
        get_server_info=False,
        max_retries=0,
        options={"check_update": False},
    )
    client.deploymentType = "Cloud"  # the library picks /search/jql from this
    try:
        issues = pages = 0
        next_token: str | None = None
        start = time.perf_counter()
        for _ in range(MAX_PAGES):
            page: Any = client.enhanced_search_issues(
                jql,
                nextPageToken=next_token,
                maxResults=page_size,
                fields=[*FIELDS, "customfield_10016"],
                json_result=True,
            )
            pages += 1
            issues += len(page.get("issues") or [])
            next_token = page.get("nextPageToken")
            if not next_token or page.get("isLast"):
                break
        seconds = time.perf_counter() - start
    finally:
        client.close()
    return {
        "jql": jql,
        "issues": issues,
        "pages": pages,
        "seconds": round(seconds, 3),
        "issues_per_second": round(issues / seconds) if seconds > 0 else None,
        "ms_per_page": round(1000 * seconds / pages, 1) if pages else None,
    }
