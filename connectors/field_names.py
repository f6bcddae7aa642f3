"""Field names people may have mistyped: close names to suggest, near-duplicates to refuse.

A mapping names fields by hand ("OKR Progres"); a typo must lead to "did you mean
'OKR Progress'?", not to "create field 'OKR Progres'", and ``okrsync fields bootstrap``
must not create a second field that differs from an existing one by a letter or two.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["close_names", "did_you_mean", "near_duplicates"]

# How alike (difflib's ratio, 0..1, ignoring case and spacing) a name must be to be
# offered as "did you mean": high enough that a missing "OKR Summary" is not taken for
# Jira's own "Summary" (0.82).
SUGGEST_CUTOFF = 0.85
_NUMBER = re.compile(r"\d+")


def _folded(name: str) -> str:
    """The name without case or spacing: "OKR  progress" and "OKRProgress" fold alike."""
    return "".join(name.casefold().split())


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _allowed_letters(folded: str) -> int:
    # Short names differ from each other by a letter or two on purpose ("Rank", "Risk"):
    # the shorter the name, the fewer letters may differ before it is another name.
    return min(2, len(folded) // 5)


def near_duplicates(name: str, known: Iterable[str]) -> list[str]:
    """Existing names that ``name`` differs from only in case, spacing, or one or two
    letters (one for names under ten letters, none under five) and not in any number,
    closest first; ``name`` itself is left out."""
    folded = _folded(name)
    limit = _allowed_letters(folded)
    numbers = _NUMBER.findall(name)
    found: list[tuple[int, str]] = []
    for other in dict.fromkeys(known):
        # Numbers tell names apart on purpose ("OKR Forecast 2", "Q3 Target").
        if other == name or _NUMBER.findall(other) != numbers:
            continue
        distance = _edit_distance(folded, _folded(other), limit)
        if distance <= limit:
            found.append((distance, other))
    return [other for _, other in sorted(found, key=lambda pair: pair[0])]


def close_names(name: str, known: Iterable[str], limit: int = 1) -> list[str]:
    """Up to ``limit`` existing names most like ``name`` (near-duplicates first, then by
    difflib's likeness, ignoring case and spacing); empty when nothing is close."""
    names = [other for other in dict.fromkeys(known) if other != name]
    close = near_duplicates(name, names)
    by_fold: dict[str, str] = {}
    for other in names:
        by_fold.setdefault(_folded(other), other)
    alike = difflib.get_close_matches(_folded(name), list(by_fold), n=limit, cutoff=SUGGEST_CUTOFF)
    close += [by_fold[fold] for fold in alike if by_fold[fold] not in close]
    return close[:limit]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the closest existing name, or ``""``."""
    close = close_names(name, known)
    return f" (did you mean '{close[0]}'?)" if close else ""
