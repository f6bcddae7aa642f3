"""The one error the state store raises, and the masking that keeps passwords out of it."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL

# user:password@ inside any URL-looking text; the user stays, the password goes. Greedy up
# to the last "@" of the word, since a password may itself hold "@" (masking too much is
# the safe side).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):\S*@")
# key=value passwords as libpq and psycopg spell them in connection strings and messages.
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


class StateError(Exception):
    """The state database cannot be opened, migrated or used.

    The message names the database by a masked URL and says what to do next; it never
    carries a password.
    """


def mask_url(url: str | URL) -> str:
    """Return ``url`` with its password replaced by ``***`` (works on malformed URLs too)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return redact(url)


def redact(text: str, *secrets: str | None) -> str:
    """Remove URL passwords, ``password=...`` pairs and the given ``secrets`` from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<head>:***@", text)
    return _KV_PASSWORD.sub(r"\g<key>***", text)
