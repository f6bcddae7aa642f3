"""TQL, Teambition's task query language: tokenizer, recursive-descent parser and evaluator.

Grammar of the supported subset (keywords are case-insensitive)::

    query      := [expr] [ORDER BY order (',' order)*]
    expr       := and_expr (OR and_expr)*
    and_expr   := unary (AND unary)*
    unary      := NOT unary | '(' expr ')' | comparison
    comparison := field op value
    op         := '=' | '!=' | '>' | '>=' | '<' | '<=' | '~' | IN | NOT IN
    value      := 'string' | number | true | false | null | func | '(' value (',' value)* ')'
    func       := me() | now() | startOf(unit [, offset]) | endOf(unit [, offset])
    order      := field [ASC | DESC]

``unit`` is one of ``d`` (day), ``w`` (ISO week, from Monday), ``M`` (month), ``y`` (year);
``offset`` is a signed count of units such as ``-1w``. Times are UTC. Positions in error
messages count characters from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "And",
    "Compare",
    "Func",
    "Not",
    "Or",
    "Query",
    "TqlError",
    "parse",
]


class TqlError(ValueError):
    """A TQL query the sandbox cannot parse or evaluate; ``position`` counts from 1."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"TQL error at position {position}: {message}")
        self.position = position
        self.reason = message


@dataclass(frozen=True)
class Token:
    """One lexical token; ``pos`` is the 0-based offset of its first character."""

    kind: str  # STRING NUMBER DURATION IDENT OP LPAREN RPAREN COMMA EOF
    text: str
    pos: int
    value: Any = None


@dataclass(frozen=True)
class Func:
    """A function call used as a value, resolved when the query is compiled."""

    name: str
    args: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a literal, a :class:`Func` or a tuple (for IN)."""

    field: str
    op: str
    value: Any
    pos: int
    value_pos: int


@dataclass(frozen=True)
class And:
    """All of ``items`` hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items`` holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``item`` does not hold."""

    item: Node


Node = Compare | And | Or | Not


@dataclass(frozen=True)
class Query:
    """A parsed TQL query: an optional condition and the ORDER BY keys."""

    where: Node | None
    order: tuple[tuple[str, bool, int], ...]  # (field, descending, position)


#: Deepest nesting of parentheses and NOT accepted (deeper is refused, not a crash).
MAX_DEPTH = 64
KEYWORDS = {"AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC", "TRUE", "FALSE", "NULL"}
FUNCTIONS = {"me": 0, "now": 0, "startof": 2, "endof": 2}
UNITS = {"d", "w", "M", "y"}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<unterminated>'(?:[^'\\]|\\.)*$)
  | (?P<duration>[+-]?\d+[dwMy](?!\w))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_.\-]+)?)
  | (?P<op>!=|>=|<=|=|>|<|~)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an EOF token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise TqlError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "unterminated":
            raise TqlError("unterminated string", pos + 1)
        if kind == "string":
            body = re.sub(r"\\(.)", r"\1", raw[1:-1])
            tokens.append(Token("STRING", raw, pos, body))
        elif kind == "number":
            number = float(raw) if "." in raw else int(raw)
            tokens.append(Token("NUMBER", raw, pos, number))
        elif kind != "ws":
            tokens.append(Token(kind.upper(), raw, pos, raw))
        pos = match.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens


def parse(text: str) -> Query:
    """Parse a TQL query; raise :class:`TqlError` naming the position of the first problem."""
    return _Parser(tokenize(text)).query()


def _describe(token: Token) -> str:
    return "the end of the query" if token.kind == "EOF" else repr(token.text)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "EOF":
            self.index += 1
        return token

    def is_keyword(self, word: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.index + offset, len(self.tokens) - 1)]
        return token.kind == "IDENT" and token.text.upper() == word

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            self.fail(f"expected {word}, found {_describe(self.current)}")
        return self.advance()

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            self.fail(f"expected {what}, found {_describe(self.current)}")
        return self.advance()

    def fail(self, message: str, token: Token | None = None) -> None:
        raise TqlError(message, (token or self.current).pos + 1)

    def query(self) -> Query:
        where: Node | None = None
        if self.current.kind != "EOF" and not self.is_keyword("ORDER"):
            where = self.expr()
        order: list[tuple[str, bool, int]] = []
        if self.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            while True:
                position = self.current.pos + 1
                field = self.field_name()
                descending = False
                if self.is_keyword("ASC") or self.is_keyword("DESC"):
                    descending = self.advance().text.upper() == "DESC"
                order.append((field, descending, position))
                if self.current.kind != "COMMA":
                    break
                self.advance()
        if self.current.kind != "EOF":
            self.fail(f"unexpected {_describe(self.current)}")
        return Query(where, tuple(order))

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while self.is_keyword("AND"):
            self.advance()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if self.is_keyword("NOT") or self.current.kind == "LPAREN":
            if self.depth >= MAX_DEPTH:
                self.fail(f"nested deeper than {MAX_DEPTH} levels")
            self.depth += 1
            try:
                if self.advance().kind != "LPAREN":
                    return Not(self.unary())
                node = self.expr()
                self.expect("RPAREN", "')'")
                return node
            finally:
                self.depth -= 1
        return self.comparison()

    def field_name(self) -> str:
        token = self.current
        if token.kind != "IDENT" or token.text.upper() in KEYWORDS:
            self.fail(f"expected a field name, found {_describe(token)}")
        self.advance()
        return token.text

    def comparison(self) -> Compare:
        start = self.current
        field = self.field_name()
        op_token = self.current
        if op_token.kind == "OP":
            op = self.advance().text
        elif self.is_keyword("IN"):
            self.advance()
            op = "IN"
        elif self.is_keyword("NOT") and self.is_keyword("IN", 1):
            self.advance()
            self.advance()
            op = "NOT IN"
        else:
            self.fail(f"expected an operator after {field!r}, found {_describe(op_token)}")
        value_token = self.current
        if op in ("IN", "NOT IN"):
            value: Any = self.value_list()
        else:
            value = self.value()
        return Compare(field, op, value, start.pos + 1, value_token.pos + 1)

    def value_list(self) -> tuple[Any, ...]:
        self.expect("LPAREN", "'(' to start a list")
        values = [self.value()]
        while self.current.kind == "COMMA":
            self.advance()
            values.append(self.value())
        self.expect("RPAREN", "')' to close the list")
        return tuple(values)

    def value(self) -> Any:
        token = self.current
        if token.kind in ("STRING", "NUMBER"):
            self.advance()
            return token.value
        if token.kind == "IDENT":
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return word == "TRUE"
            if word == "NULL":
                self.advance()
                return None
            if token.text.lower() in FUNCTIONS and self.tokens[self.index + 1].kind == "LPAREN":
                return self.function()
        self.fail(f"expected a value, found {_describe(token)}")
        raise AssertionError  # unreachable: fail() raises

    def function(self) -> Func:
        name_token = self.advance()
        name = name_token.text.lower()
        self.expect("LPAREN", "'('")
        args: list[str] = []
        if self.current.kind != "RPAREN":
            while True:
                arg = self.current
                if arg.kind not in ("IDENT", "DURATION"):
                    self.fail(f"expected a unit or an offset, found {_describe(arg)}")
                args.append(self.advance().text)
                if self.current.kind != "COMMA":
                    break
                self.advance()
        self.expect("RPAREN", "')'")
        limit = FUNCTIONS[name]
        if name in ("startof", "endof"):
            if not args or args[0] not in UNITS or len(args) > limit:
                self.fail(
                    f"{name_token.text}() takes a unit (d, w, M, y) and an offset", name_token
                )
            if len(args) == 2 and not re.fullmatch(r"[+-]?\d+[dwMy]", args[1]):
                self.fail(f"bad offset {args[1]!r}, expected e.g. -1w", name_token)
        elif args:
            self.fail(f"{name_token.text}() takes no arguments", name_token)
        return Func(name, tuple(args), name_token.pos + 1)
