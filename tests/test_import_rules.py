"""The design's dependency rules (DESIGN.md principles 5, 7 and 8), read from the code.

Every ``import`` is found statically with ``ast``: at module level, inside functions and
inside ``if TYPE_CHECKING:`` blocks alike, since a lazy or type-only import still ties one
layer to another. A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("okrsync", "connectors", "mappings")

#: What the mapping layer and the engine must not know: tracker clients, databases, HTTP.
IO_LIBRARIES = (
    "jira",
    "httpx",
    "requests",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "werkzeug",
    "prometheus_client",
)


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is imported."""

    file: str
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.name}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(path: Path, root: Path, node: ast.ImportFrom) -> str:
    """The module a ``from ... import`` names, with relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every module name ``path`` (a file under ``root``) imports, anywhere in the file.

    ``from a import b`` yields both ``a`` and ``a.b``, since ``b`` may be a submodule.
    """
    shown = str(path.relative_to(root))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=shown)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(shown, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, root, node)
            yield Import(shown, node.lineno, module)
            for alias in node.names:
                yield Import(shown, node.lineno, f"{module}.{alias.name}")


def modules(*folders: str) -> list[Path]:
    """The Python files under ``folders`` (relative to the repository root)."""
    found = [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]
    assert found, f"no modules under {folders}: the rule would check nothing"
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(files: list[Path], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """Each import in ``files`` of a module in (or under) ``forbidden``, once per line."""
    seen: dict[tuple[str, int], Import] = {}
    for path in files:
        for found in imports_of(path, root):
            if _under(found.name, forbidden):
                seen.setdefault((found.file, found.line), found)
    return [str(found) for found in seen.values()]


def _is_sandbox(path: Path) -> bool:
    return (ROOT / "okrsync" / "sandbox") in path.parents


# The only product modules allowed to start the sandbox: the commands that serve it.
SANDBOX_USERS = {
    ROOT / "okrsync" / "commands" / "demo.py",
    ROOT / "okrsync" / "commands" / "sandbox.py",
}

RULES: dict[str, tuple[list[Path], tuple[str, ...]]] = {
    # Principle 8: the mapping layer and the engine know no tracker client, no database,
    # no HTTP; and they sit below everything else.
    "mappings imports no client, database, HTTP, okrsync or connectors": (
        modules("mappings"),
        (*IO_LIBRARIES, "okrsync", "connectors"),
    ),
    # Principle 7: product code never imports the sandbox, except the commands serving it.
    "product code does not import the sandbox": (
        [p for p in modules(*PRODUCT) if not _is_sandbox(p) and p not in SANDBOX_USERS],
        ("okrsync.sandbox",),
    ),
    # Principle 7: the sandbox cannot agree with okrsync by construction.
    "the sandbox imports neither connectors nor mappings": (
        modules("okrsync/sandbox"),
        ("connectors", "mappings"),
    ),
    # Principle 5: connectors do no OKR logic and know nothing of the service.
    "connectors do not import okrsync": (modules("connectors"), ("okrsync",)),
    # Principle 8: dependencies point one way; the cycle never reaches up to the CLI or
    # to what people read.
    "the sync layer imports neither commands nor views": (
        modules("okrsync/sync"),
        ("okrsync.commands", "okrsync.views"),
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_dependency_rule_holds(rule: str) -> None:
    files, forbidden = RULES[rule]
    found = violations(files, forbidden)
    assert not found, f"{rule}:\n  " + "\n  ".join(found)


def test_imports_are_found_in_functions_type_checking_blocks_and_relative_forms(
    tmp_path: Path,
) -> None:
    # The checker itself: imports hidden the usual ways are still seen.
    package = tmp_path / "okrsync" / "sync"
    package.mkdir(parents=True)
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from okrsync.views.text import dumps\n"
        "def lazy() -> None:\n"
        "    import okrsync.commands.common\n"
        "from ..views import progress\n"
    )
    probe = package / "probe.py"
    probe.write_text(source, encoding="utf-8")
    found = violations([probe], ("okrsync.commands", "okrsync.views"), root=tmp_path)
    # Line 1 imports typing, which is allowed; lines 3, 5 and 6 reach into the views or
    # the commands from a type-only block, a function, and a relative import.
    assert sorted(found) == [
        "okrsync/sync/probe.py:3 imports okrsync.views.text",
        "okrsync/sync/probe.py:5 imports okrsync.commands.common",
        "okrsync/sync/probe.py:6 imports okrsync.views",
    ]
