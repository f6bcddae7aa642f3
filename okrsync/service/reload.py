"""Reloading the mapping files while the daemon runs, keeping the last good ones.

The daemon polls (``daemon.reload_check_seconds``) rather than relying on file-system
events, because a Kubernetes ConfigMap volume changes by swapping a symlink and network
file systems send no events at all.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from pathlib import Path

from mappings.loader import MappingError, load_mappings, mapping_files
from mappings.tree import OkrTree

__all__ = ["MappingsWatch"]

log = logging.getLogger("okrsync.daemon")


def fingerprint(path: Path) -> str:
    """A digest of every mapping file's name and content (``""`` when none can be read)."""
    digest = hashlib.sha256()
    try:
        files = mapping_files(path) if path.exists() else []
        for file in files:
            digest.update(str(file).encode())
            digest.update(file.read_bytes())
    except OSError as exc:
        # A file vanishing between listing and reading is an edit in progress: the next
        # check sees the finished edit.
        digest.update(f"unreadable: {exc}".encode())
    return digest.hexdigest()


class MappingsWatch:
    """The mapping files at ``path`` and the last good tree loaded from them."""

    def __init__(
        self, path: Path, connections: Mapping[str, Collection[str]], tree: OkrTree
    ) -> None:
        self.path = path
        self.connections = connections
        self.tree = tree
        self.error: str | None = None  # why the files on disk are not the ones in use
        self._seen = fingerprint(path)

    def check(self) -> bool | None:
        """Load the files again if they changed since the last check.

        Returns True when a new tree is in use, False when the changed files are broken
        (the last good tree stays in use; ``error`` says why), None when nothing changed.
        A broken edit is reported once, not at every check.
        """
        current = fingerprint(self.path)
        if current == self._seen:
            return None
        self._seen = current
        try:
            tree = load_mappings(self.path, connections=self.connections)
        except MappingError as exc:
            self.error = "; ".join(str(problem) for problem in exc.problems)
            log.error(
                "the changed mappings have problems; the last good mappings keep running: %s",
                self.error,
            )
            return False
        self.tree, self.error = tree, None
        log.info(
            "mappings reloaded: %d objectives, %d key results",
            len(tree.objectives),
            len(tree.key_results),
        )
        return True
