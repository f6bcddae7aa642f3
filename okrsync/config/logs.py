"""Logging set-up: text or JSON lines, with every configured secret masked on the way out."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

MASK = "**********"


class RedactSecrets(logging.Filter):
    """Replace any configured secret value in a record by the mask.

    okrsync never formats secrets into messages; this is the second line of defence for
    text that comes from elsewhere (a library's exception message, a server's error body).
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.redact(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            data["exception"] = record.exc_text
        elif record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    A handler bound to the stream of its creation keeps writing to it after it is replaced
    and closed (a test runner capturing output, a daemon redirecting it).
    """

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger, writing to stderr; calling it again replaces the set-up."""
    handler = _Stderr()
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # HTTP libraries log every request line and alembic every migration step; only their
    # warnings are worth an operator's attention.
    for noisy in ("urllib3", "httpx", "httpcore", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
