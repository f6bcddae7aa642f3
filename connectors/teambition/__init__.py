"""Teambition Open API: the connector the cycle sees and its settings model.

Inside: ``settings`` (the connection model), ``http`` (httpx client, app token, pacing,
envelope checks), ``tasks`` (task JSON -> WorkItem), ``read`` (scopes, lookups), ``write``
(custom-field reads and writes), ``check`` (preflight), ``connector`` (the face).
"""

from connectors.teambition.connector import TeambitionConnector
from connectors.teambition.settings import TeambitionConnection

__all__ = ["TeambitionConnection", "TeambitionConnector"]
