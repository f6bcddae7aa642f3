"""Links from what the status page shows to the trackers: an item's page in Jira or
Teambition, built from the connection settings' base URL with any user name or password
in it removed (a page never shows a credential)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from okrsync.config.settings import Settings

__all__ = ["ItemLinks", "public_url"]

# Teambition's open API lives on its own host; its tasks are shown on the web app's.
_TEAMBITION_WEB = {"open.teambition.com": "https://www.teambition.com"}


def public_url(url: str) -> str:
    """``url`` without user name, password, query or fragment, and no trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _teambition_web(base_url: str) -> str:
    root = public_url(base_url)
    host = urlsplit(root).hostname or ""
    if host in _TEAMBITION_WEB:
        return _TEAMBITION_WEB[host]
    # A private deployment (or the sandbox): the web app beside the API.
    return root[: -len("/api")] if root.endswith("/api") else root


class ItemLinks:
    """Where each connection's items are seen in a browser, by connection display name
    (``jira:cloud``, ``teambition:main``)."""

    def __init__(self, roots: Mapping[str, str]) -> None:
        self._roots = dict(roots)

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ItemLinks:
        """The links of the configured connections (none without settings)."""
        roots: dict[str, str] = {}
        if settings is not None:
            for name, jira in settings.jira.items():
                roots[f"jira:{name}"] = public_url(str(jira.url))
            for name, tb in settings.teambition.items():
                roots[f"teambition:{name}"] = _teambition_web(str(tb.base_url))
        return cls(roots)

    def item(self, sources: tuple[str, ...] | list[str], item: Mapping[str, Any]) -> str | None:
        """The browser URL of an evidence item of a key result reading ``sources``; None
        when the item's connection is not known for sure (several, or none configured)."""
        known = [s for s in sources if s in self._roots]
        if len(known) != 1:
            return None
        source, root = known[0], self._roots[known[0]]
        if source.startswith("jira:") and item.get("key"):
            return f"{root}/browse/{quote(str(item['key']), safe='')}"
        if source.startswith("teambition:") and item.get("item_id"):
            return f"{root}/task/{quote(str(item['item_id']), safe='')}"
        return None

    def target(self, connection: str, target: str) -> str | None:
        """The browser URL of a write target (a Jira issue key, a Teambition task id)."""
        root = self._roots.get(connection)
        if root is None:
            return None
        if connection.startswith("jira:"):
            return f"{root}/browse/{quote(target, safe='')}"
        return f"{root}/task/{quote(target, safe='')}"
