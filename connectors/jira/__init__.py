"""Jira (Cloud and Data Center): the connector the cycle sees and its settings model.

Inside: ``settings`` (the connection model), ``client`` (the pycontribs ``jira`` library,
retries, paging), ``query`` (JQL and issue -> WorkItem), ``fetch`` (scopes -> WorkItems),
``fields`` (names -> ids, value forms), ``write`` (field reads and writes), ``bootstrap``
(field creation), ``errors`` (user-facing messages), ``connector`` (the face).
"""

from connectors.jira.connector import JiraConnector
from connectors.jira.settings import JiraConnection

__all__ = ["JiraConnection", "JiraConnector"]
