"""okrsync's state store: what one cycle leaves for the next (SQLite or PostgreSQL)."""

from okrsync.state.errors import StateError, mask_url
from okrsync.state.records import (
    Checkin,
    KrSnapshot,
    LedgerEntry,
    ObjectiveSnapshot,
    Run,
    ScopeMark,
    SourceHealth,
)
from okrsync.state.store import DEFAULT_URL, StateStore

__all__ = [
    "DEFAULT_URL",
    "Checkin",
    "KrSnapshot",
    "LedgerEntry",
    "ObjectiveSnapshot",
    "Run",
    "ScopeMark",
    "SourceHealth",
    "StateError",
    "StateStore",
    "mask_url",
]
