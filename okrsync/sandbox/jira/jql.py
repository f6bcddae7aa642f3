"""The JQL parser of the sandbox: a recursive-descent parser over ``jql_lexer``'s tokens.

Grammar::

    query    := [or_expr] [ORDER BY sort ("," sort)*]
    or_expr  := and_expr ((OR | "||") and_expr)*
    and_expr := not_expr ((AND | "&&") not_expr)*
    not_expr := (NOT | "!") not_expr | "(" or_expr ")" | clause
    clause   := field op operand
    field    := word | "quoted" | cf[N] | issue.property[key].path
    op       := = | != | > | >= | < | <= | ~ | !~ | IN | NOT IN | IS | IS NOT
    operand  := value | EMPTY | NULL | function "(" [value ("," value)*] ")"
              | "(" operand ("," operand)* ")"
    sort     := field [ASC | DESC]

Errors raise :class:`JQLError` whose message is what Jira puts in ``errorMessages``.
"""

from __future__ import annotations

from dataclasses import dataclass

from okrsync.sandbox.jira.jql_lexer import (
    KEYWORDS,
    UNSUPPORTED_OPS,
    VALID_OPS,
    JQLError,
    Token,
    syntax_error,
    tokenize,
)

__all__ = [
    "And",
    "Clause",
    "Empty",
    "FieldRef",
    "Function",
    "JQLError",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Query",
    "SortKey",
    "Value",
    "parse",
    "tokenize",
]


@dataclass(frozen=True)
class FieldRef:
    """A field named in a clause or an ORDER BY."""

    name: str  # as written (cf[N] normalised to "cf[N]")
    pos: int
    prop_key: str | None = None  # issue.property[prop_key].path
    prop_path: str | None = None


@dataclass(frozen=True)
class Value:
    """A literal value; ``quoted`` when written in quotes."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Empty:
    """``EMPTY`` / ``NULL``."""


@dataclass(frozen=True)
class Function:
    """A function call such as ``currentUser()`` or ``now()``."""

    name: str
    args: tuple[str, ...] = ()


Operand = Value | Empty | Function | tuple  # tuple = list operand of Value/Function


@dataclass(frozen=True)
class Clause:
    """``field op operand``; ``op`` is upper-case (``NOT IN``, ``IS NOT``)."""

    field: FieldRef
    op: str
    operand: Operand


@dataclass(frozen=True)
class And:
    """All children match."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The child does not match."""

    child: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term."""

    field: FieldRef
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: ``where`` is None for an unrestricted query."""

    where: Node | None
    order_by: tuple[SortKey, ...] = ()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, pos: int | None = None) -> JQLError:
        """Jira's syntax error at ``pos`` of this query."""
        return syntax_error(message, pos, self.text)

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "WORD" and self.tok.upper in words

    def query(self) -> Query:
        where: Node | None = None
        if not (self.tok.kind == "EOF" or self.is_word("ORDER")):
            where = self.or_expr()
        order: tuple[SortKey, ...] = ()
        if self.is_word("ORDER"):
            order = self.order_by()
        if self.tok.kind != "EOF":
            raise self.error(
                f"Expecting either 'OR' or 'AND' but got '{self.tok.text}'.", self.tok.pos
            )
        return Query(where, order)

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.is_word("OR"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.is_word("AND"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.is_word("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "LPAREN":
            self.advance()
            inner = self.or_expr()
            if self.tok.kind != "RPAREN":
                if self.tok.kind == "EOF":
                    raise self.error("Expecting ')' before the end of the query.")
                raise self.error(f"Expecting ')' but got '{self.tok.text}'.", self.tok.pos)
            self.advance()
            return inner
        return self.clause()

    def field(self) -> FieldRef:
        tok = self.tok
        if tok.kind == "EOF":
            raise self.error("Expecting a field name at the end of the query.")
        if tok.kind == "PROPERTY":
            self.advance()
            return _property_ref(tok, self.text)
        if tok.kind == "CF" or tok.kind == "STRING":
            self.advance()
            return FieldRef(tok.text, tok.pos)
        if tok.kind == "WORD" and tok.upper not in KEYWORDS:
            self.advance()
            return FieldRef(tok.text, tok.pos)
        raise self.error(
            f"Expecting a field name but got '{tok.text}'. You must surround "
            f"'{tok.text}' in quotation marks to use it as a field name.",
            tok.pos,
        )

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "OP":
            self.advance()
            return tok.text
        if tok.kind == "WORD":
            word = tok.upper
            if word == "IN":
                self.advance()
                return "IN"
            if word == "NOT":
                self.advance()
                if not self.is_word("IN"):
                    raise self.error(f"Expecting 'IN' but got '{self.tok.text}'.", self.tok.pos)
                self.advance()
                return "NOT IN"
            if word == "IS":
                self.advance()
                if self.is_word("NOT"):
                    self.advance()
                    return "IS NOT"
                return "IS"
            if word in UNSUPPORTED_OPS:
                raise self.error(f"The operator '{word}' is not supported here.", tok.pos)
        if tok.kind == "EOF":
            raise self.error(
                "Expecting operator before the end of the query. "
                f"The valid operators are {VALID_OPS}."
            )
        raise self.error(
            f"Expecting operator but got '{tok.text}'. The valid operators are {VALID_OPS}.",
            tok.pos,
        )

    def clause(self) -> Clause:
        ref = self.field()
        op = self.operator()
        if op in {"IN", "NOT IN"}:
            operand: Operand = self.list_operand()
        else:
            operand = self.single_operand()
        if op in {"IS", "IS NOT"} and not isinstance(operand, Empty):
            raise self.error(
                f"The operator '{op}' can only be used with the value EMPTY or NULL.", ref.pos
            )
        return Clause(ref, op, operand)

    def list_operand(self) -> Operand:
        if self.tok.kind != "LPAREN":
            operand = self.single_operand()
            if isinstance(operand, Function):
                return operand
            raise self.error("Expecting '(' after the IN operator.", self.tok.pos)
        self.advance()
        values = [self.single_operand()]
        while self.tok.kind == "COMMA":
            self.advance()
            values.append(self.single_operand())
        if self.tok.kind != "RPAREN":
            raise self.error(
                f"Expecting ')' but got '{self.tok.text or 'end of query'}'.", self.tok.pos
            )
        self.advance()
        return tuple(values)

    def single_operand(self) -> Value | Empty | Function:
        tok = self.tok
        if tok.kind == "STRING":
            self.advance()
            return Value(tok.text, quoted=True)
        if tok.kind in {"WORD", "CF"}:
            if tok.upper in {"EMPTY", "NULL"}:
                self.advance()
                return Empty()
            if tok.upper in KEYWORDS:
                raise self.error(
                    f"Expecting either a value, list or function but got "
                    f"'{tok.text}'. You must surround '{tok.text}' in quotation "
                    "marks to use it as a value.",
                    tok.pos,
                )
            self.advance()
            if self.tok.kind == "LPAREN":
                return self.function_args(tok.text)
            return Value(tok.text)
        if tok.kind == "EOF":
            raise self.error(
                "Expecting either a value, list or function before the end of the query."
            )
        raise self.error(
            f"Expecting either a value, list or function but got '{tok.text}'. "
            f"You must surround '{tok.text}' in quotation marks to use it as a "
            "value.",
            tok.pos,
        )

    def function_args(self, name: str) -> Function:
        self.advance()  # "("
        args: list[str] = []
        while self.tok.kind != "RPAREN":
            if self.tok.kind not in {"WORD", "STRING"}:
                raise self.error(
                    f"Expecting ')' but got '{self.tok.text or 'end of query'}'.", self.tok.pos
                )
            args.append(self.advance().text)
            if self.tok.kind == "COMMA":
                self.advance()
        self.advance()
        return Function(name, tuple(args))

    def order_by(self) -> tuple[SortKey, ...]:
        self.advance()  # ORDER
        if not self.is_word("BY"):
            raise self.error(f"Expecting 'by' but got '{self.tok.text}'.", self.tok.pos)
        self.advance()
        keys = []
        while True:
            ref = self.field()
            descending = False
            if self.is_word("ASC", "DESC"):
                descending = self.advance().upper == "DESC"
            keys.append(SortKey(ref, descending))
            if self.tok.kind != "COMMA":
                break
            self.advance()
        return tuple(keys)


def _property_ref(tok: Token, query: str) -> FieldRef:
    text = tok.text
    close = text.find("]")
    key = text[len("issue.property[") : close]
    rest = text[close + 1 :]
    if not key or (rest and not rest.startswith(".")):
        raise syntax_error(f"'{text}' is not a valid issue property reference.", tok.pos, query)
    return FieldRef("issue.property", tok.pos, prop_key=key, prop_path=rest[1:] or None)


def parse(text: str) -> Query:
    """Parse a JQL query; raise :class:`JQLError` with Jira's message when invalid."""
    return _Parser(text or "").query()
