"""A JQL tokenizer and recursive-descent parser (the subset the sandbox serves).

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

RESERVED_CHARS = set("{}*%?^|&[];+#$@`")
SINGLE = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", "~": "OP"}
KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"}
UNSUPPORTED_OPS = {"WAS", "CHANGED"}
VALID_OPS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"


class JQLError(ValueError):
    """An invalid query; ``str(error)`` is Jira's error message."""


@dataclass(frozen=True)
class Token:
    """One lexical token; ``pos`` is the 1-based character position."""

    kind: str  # WORD, STRING, OP, LPAREN, RPAREN, COMMA, CF, PROPERTY, EOF
    text: str
    pos: int

    @property
    def upper(self) -> str:
        """Keyword form of an unquoted word."""
        return self.text.upper() if self.kind == "WORD" else ""


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


def _syntax(message: str, pos: int | None = None) -> JQLError:
    where = f" (line 1, character {pos})" if pos is not None else ""
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
                raise _syntax(f"The quoted string '{text[i + 1 :]}' has not been completed.", pos)
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
            raise _syntax(
                f"The character '{ch}' is a reserved JQL character. You must enclose it in a "
                f"string or use the escape '\\u{ord(ch):04x}' instead.",
                pos,
            )
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "\"'(),=!<>~&|":
                if text[j] == "[":
                    close = text.find("]", j)
                    if close < 0:
                        raise _syntax("Expecting ']' before the end of the query.", j + 1)
                    j = close + 1
                    continue
                if text[j] in RESERVED_CHARS:
                    break
                j += 1
            tokens.append(_word(text[i:j], pos))
            i = j
    tokens.append(Token("EOF", "", n + 1))
    return tokens


def _word(word: str, pos: int) -> Token:
    lower = word.lower()
    if lower.startswith("cf[") and word.endswith("]"):
        inner = word[3:-1]
        if not inner.isdigit():
            raise _syntax(f"'{word}' is not a valid custom field reference.", pos)
        return Token("CF", f"cf[{inner}]", pos)
    if lower.startswith("issue.property["):
        return Token("PROPERTY", word, pos)
    return Token("WORD", word, pos)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

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
            raise _syntax(
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
                    raise _syntax("Expecting ')' before the end of the query.")
                raise _syntax(f"Expecting ')' but got '{self.tok.text}'.", self.tok.pos)
            self.advance()
            return inner
        return self.clause()

    def field(self) -> FieldRef:
        tok = self.tok
        if tok.kind == "EOF":
            raise _syntax("Expecting a field name at the end of the query.")
        if tok.kind == "PROPERTY":
            self.advance()
            return _property_ref(tok)
        if tok.kind == "CF" or tok.kind == "STRING":
            self.advance()
            return FieldRef(tok.text, tok.pos)
        if tok.kind == "WORD" and tok.upper not in KEYWORDS:
            self.advance()
            return FieldRef(tok.text, tok.pos)
        raise _syntax(
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
                    raise _syntax(f"Expecting 'IN' but got '{self.tok.text}'.", self.tok.pos)
                self.advance()
                return "NOT IN"
            if word == "IS":
                self.advance()
                if self.is_word("NOT"):
                    self.advance()
                    return "IS NOT"
                return "IS"
            if word in UNSUPPORTED_OPS:
                raise _syntax(f"The operator '{word}' is not supported here.", tok.pos)
        if tok.kind == "EOF":
            raise _syntax(
                "Expecting operator before the end of the query. "
                f"The valid operators are {VALID_OPS}."
            )
        raise _syntax(
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
            raise _syntax(
                f"The operator '{op}' can only be used with the value EMPTY or NULL.", ref.pos
            )
        return Clause(ref, op, operand)

    def list_operand(self) -> Operand:
        if self.tok.kind != "LPAREN":
            operand = self.single_operand()
            if isinstance(operand, Function):
                return operand
            raise _syntax("Expecting '(' after the IN operator.", self.tok.pos)
        self.advance()
        values = [self.single_operand()]
        while self.tok.kind == "COMMA":
            self.advance()
            values.append(self.single_operand())
        if self.tok.kind != "RPAREN":
            raise _syntax(
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
                raise _syntax(
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
            raise _syntax("Expecting either a value, list or function before the end of the query.")
        raise _syntax(
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
                raise _syntax(
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
            raise _syntax(f"Expecting 'by' but got '{self.tok.text}'.", self.tok.pos)
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


def _property_ref(tok: Token) -> FieldRef:
    text = tok.text
    close = text.find("]")
    key = text[len("issue.property[") : close]
    rest = text[close + 1 :]
    if not key or (rest and not rest.startswith(".")):
        raise _syntax(f"'{text}' is not a valid issue property reference.", tok.pos)
    return FieldRef("issue.property", tok.pos, prop_key=key, prop_path=rest[1:] or None)


def parse(text: str) -> Query:
    """Parse a JQL query; raise :class:`JQLError` with Jira's message when invalid."""
    return _Parser(text or "").query()
