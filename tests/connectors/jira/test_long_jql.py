"""A JQL too long for a query string goes in a POST body, issue properties included."""

from __future__ import annotations

import pytest

from connectors.jira.client import POST_JQL_OVER
from connectors.jira.connector import JiraConnector
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import requests_to


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_long_query_with_properties_is_posted_and_answered(
    connector: JiraConnector, server: SandboxServer
) -> None:
    keys = [issue.key for issue in server.data.all_issues()][:3]
    padding = " OR ".join(f'summary ~ "nomatchzz{n}"' for n in range(POST_JQL_OVER // 20))
    jql = f"key in ({', '.join(keys)}) OR {padding}"
    assert len(jql) > POST_JQL_OVER

    found = connector.client.search(jql, ["summary"], properties=["okrsync"])

    assert sorted(issue["key"] for issue in found) == sorted(keys)
    posted = requests_to(server, "/search", "POST")
    assert posted and all(r.status == 200 for r in posted)
