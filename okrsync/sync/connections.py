"""The tracker connections of a cycle: one connector per configured connection, and
the lookup from a mapping's reference (``connection:``) to its connector."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connectors.base import Connector, RequestObserver
from connectors.jira import JiraConnector
from connectors.retry import RetryEvent, RetryPolicy
from connectors.teambition import TeambitionConnector
from okrsync.config.settings import Settings
from okrsync.errors import UserError

#: Told of each HTTP request any connector sent: the connection's display name
#: (``jira:cloud``), the method, the status (None when no answer came) and the seconds.
ConnectionRequestObserver = Callable[[str, str, int | None, float], None]


def _for_connection(
    on_request: ConnectionRequestObserver | None, display: str
) -> RequestObserver | None:
    if on_request is None:
        return None

    def observe(method: str, status: int | None, seconds: float) -> None:
        on_request(display, method, status, seconds)

    return observe


def build_connectors(
    settings: Settings,
    on_retry: Callable[[RetryEvent], None] | None = None,
    on_request: ConnectionRequestObserver | None = None,
) -> dict[tuple[str, str], Connector]:
    """Connectors keyed by ``(source, connection name)``, sharing one retry policy.

    ``on_retry`` sees every retry; ``on_request`` every HTTP request, with the display
    name of the connection that sent it.
    """
    policy = RetryPolicy(settings.retry, on_retry=on_retry)
    built: dict[tuple[str, str], Connector] = {}
    for name, jira in settings.jira.items():
        observer = _for_connection(on_request, f"jira:{name}")
        built[("jira", name)] = JiraConnector(name, jira, policy, on_request=observer)
    for name, tb in settings.teambition.items():
        observer = _for_connection(on_request, f"teambition:{name}")
        built[("teambition", name)] = TeambitionConnector(name, tb, policy, on_request=observer)
    return built


def connection_for(
    connectors: dict[tuple[str, str], Connector], source: str, name: str | None
) -> Connector:
    """The connector a scope or target names, or the only one of its tracker."""
    if name is not None:
        try:
            return connectors[(source, name)]
        except KeyError:
            raise UserError(f"no {source} connection named '{name}' is configured") from None
    candidates = [c for (src, _), c in connectors.items() if src == source]
    if len(candidates) != 1:
        raise UserError(
            f"{len(candidates)} {source} connections are configured; "
            "name one with 'connection:' in the mapping"
        )
    return candidates[0]


class Connections:
    """Connectors by display name (``jira:cloud``), resolved from mapping references."""

    def __init__(self, connectors: Mapping[tuple[str, str], Connector]):
        self.connectors = dict(connectors)

    def resolve(self, source: str, name: str | None) -> tuple[str, Connector]:
        """``(display name, connector)`` of a scope's or target's connection."""
        connector = connection_for(self.connectors, source, name)
        return f"{connector.source}:{connector.name}", connector

    def get(self, display: str) -> Connector:
        """The connector of a display name."""
        source, _, name = display.partition(":")
        return self.connectors[(source, name)]
