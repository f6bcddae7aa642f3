"""Errors that reach the user, each saying what to do next."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; ``problems`` are listed one per line under ``message``."""

    def __init__(self, message: str, problems: list[str] | None = None, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.exit_code = exit_code
