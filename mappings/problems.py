"""Located problems in mapping files, and the error that carries all of them at once."""

from __future__ import annotations

from dataclasses import dataclass

# Paths for problems that are not about one value of the document.
SYNTAX_PATH = "<yaml>"
DOCUMENT_PATH = "<document>"
FILE_PATH = "<file>"


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """One problem, located: ``file:line:col path: message`` (line and col are 1-based).

    ``path`` names the value in the document, e.g. ``objectives[0].key_results[2].weight``.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col} {self.path}: {self.message}"


class MappingError(Exception):
    """The mapping files have problems; ``problems`` lists every one found, in file order."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the mapping files"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
