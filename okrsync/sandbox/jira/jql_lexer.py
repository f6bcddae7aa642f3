"""The JQL tokenizer of the sandbox, and Jira's syntax error messages.

``tokenize`` splits a query into :class:`Token` objects; the parser in
``okrsync.sandbox.jira.jql`` builds the query tree from them.
"""

from __future__ import annotations

from dataclasses import dataclass

RESERVED_CHARS = set("{}*%?^|&[];+#$@`")
SINGLE = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", "~": "OP"}
KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"}
UNSUPPORTED_OPS = {"WAS", "CHANGED"}
VALID_OPS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"


class JQLError(ValueError):
    """An invalid query; ``messages`` are Jira's ``errorMessages`` (usually one), and
    ``str(error)`` is them joined by newlines."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)

    def __str__(self) -> str:
        return "\n".join(self.messages)


@dataclass(frozen=True)
class Token:
    """One lexical token; ``pos`` is its 1-based offset in the query."""

    kind: str  # WORD, STRING, OP, LPAREN, RPAREN, COMMA, CF, PROPERTY, EOF
    text: str
    pos: int

    @property
    def upper(self) -> str:
        """Keyword form of an unquoted word."""
        return self.text.upper() if self.kind == "WORD" else ""


def syntax_error(message: str, pos: int | None = None, text: str = "") -> JQLError:
    """Jira's syntax error; ``pos`` (1-based offset in ``text``) becomes "(line L,
    character C)", counted per line as Jira does."""
    where = ""
    if pos is not None:
        before = text[: pos - 1]
        line = before.count("\n") + 1
        column = pos - (before.rfind("\n") + 1)
        where = f" (line {line}, character {column})"
    return JQLError(f"Error in the JQL Query: {message}{where}")


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        pos = i + 1
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise syntax_error(
                    f"The quoted string '{text[i + 1 :]}' has not been completed.", pos, text
                )
            tokens.append(Token("STRING", "".join(buf), pos))
            i = j + 1
        elif ch in SINGLE:
            tokens.append(Token(SINGLE[ch], ch, pos))
            i += 1
        elif ch in "=!<>":
            two = text[i : i + 2]
            if two in {"!=", ">=", "<=", "!~"}:
                tokens.append(Token("OP", two, pos))
                i += 2
            elif ch == "!":
                tokens.append(Token("WORD", "NOT", pos))
                i += 1
            else:
                tokens.append(Token("OP", ch, pos))
                i += 1
        elif text.startswith("&&", i) or text.startswith("||", i):
            tokens.append(Token("WORD", "AND" if ch == "&" else "OR", pos))
            i += 2
        elif ch in RESERVED_CHARS:
            raise syntax_error(
                f"The character '{ch}' is a reserved JQL character. You must enclose it in a "
                f"string or use the escape '\\u{ord(ch):04x}' instead.",
                pos,
                text,
            )
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "\"'(),=!<>~&|":
                if text[j] == "[":
                    close = text.find("]", j)
                    if close < 0:
                        raise syntax_error(
                            "Expecting ']' before the end of the query.", j + 1, text
                        )
                    j = close + 1
                    continue
                if text[j] in RESERVED_CHARS:
                    break
                j += 1
            tokens.append(_word(text[i:j], pos, text))
            i = j
    tokens.append(Token("EOF", "", n + 1))
    return tokens


def _word(word: str, pos: int, text: str) -> Token:
    lower = word.lower()
    if lower.startswith("cf[") and word.endswith("]"):
        inner = word[3:-1]
        if not inner.isdigit():
            raise syntax_error(f"'{word}' is not a valid custom field reference.", pos, text)
        return Token("CF", f"cf[{inner}]", pos)
    if lower.startswith("issue.property["):
        return Token("PROPERTY", word, pos)
    return Token("WORD", word, pos)
