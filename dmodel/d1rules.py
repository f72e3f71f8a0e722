"""D1 rules: what SQL must obey before it is applied to Cloudflare D1.

The rules come from D1's documented limits and from what D1 rejects:

- no transaction control, because D1 wraps each request in its own
  transaction and rejects ``BEGIN``, ``COMMIT`` and ``SAVEPOINT``;
- no names starting with ``_cf_`` (reserved by D1) or ``sqlite_`` (reserved
  by SQLite), and no table named ``d1_migrations`` (wrangler's ledger);
- 100 columns per table, 100,000 bytes per statement, 100 bound parameters
  per statement, 2,000,000 bytes per row, string or BLOB, 32 arguments per
  function call;
- LF line endings, a ``;`` after every statement, and trigger bodies of one
  statement without ``CASE ... END``, because the remote API splits a request
  into statements itself and its splitter breaks on the other forms;
- only the PRAGMAs D1 authorizes, and no ``ATTACH``, ``DETACH`` or ``VACUUM``.

``split_statements`` cuts SQL text into statements the way SQLite reads it:
a ``;`` inside a string literal, a quoted identifier, a comment or a trigger
body does not end a statement. ``lint_sql`` returns one ``Finding`` per
broken rule, each with a stable code, the line and the fix.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

from dmodel.errors import LimitError

MAX_COLUMNS_PER_TABLE = 100
MAX_STATEMENT_BYTES = 100_000
MAX_BOUND_PARAMETERS = 100
MAX_VALUE_BYTES = 2_000_000
MAX_FUNCTION_ARGUMENTS = 32

# PRAGMAs that D1 authorizes and that are safe in a migration.
ALLOWED_PRAGMAS = frozenset({
    "table_list", "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "quick_check", "integrity_check",
    "defer_foreign_keys", "optimize", "foreign_keys",
})

TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})
RESERVED_PREFIXES = ("_cf_", "sqlite_")
LEDGER_TABLE = "d1_migrations"

# Stable finding codes. A code is never reused for another rule.
RULES = {
    "D1000": "unterminated string literal or quoted identifier",
    "D1001": "transaction control statement",
    "D1002": "reserved name prefix",
    "D1003": "table named d1_migrations",
    "D1004": "more than 100 columns in a table",
    "D1005": "statement of 100,000 bytes or more",
    "D1006": "CR or CRLF line endings",
    "D1007": "statement without a terminating semicolon",
    "D1008": "CASE ... END inside a trigger body",
    "D1009": "trigger body with more than one statement",
    "D1010": "PRAGMA that D1 does not authorize",
    "D1011": "PRAGMA foreign_keys assignment, which D1 ignores",
    "D1012": "ATTACH, DETACH or VACUUM",
    "D1013": "more than 100 bound parameters in a statement",
    "D1014": "string or BLOB literal of 2,000,000 bytes or more",
    "D1015": "row of 2,000,000 bytes or more",
    "D1016": "function call with more than 32 arguments",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token of SQL text.

    ``kind`` is one of: word, string, blob, identifier (quoted), number,
    parameter, punct, comment. ``start`` and ``end`` are character offsets;
    ``upper`` is the upper-cased text of a word and empty for other kinds.
    """

    kind: str
    text: str
    start: int
    end: int
    line: int
    terminated: bool = True
    upper: str = ""


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text without the closing ``;`` and where it sits."""

    text: str
    line: int
    end_line: int
    start: int
    end: int
    terminated: bool
    tokens: tuple[Token, ...]

    @property
    def keywords(self) -> list[str]:
        return [token.upper for token in self.tokens if token.kind != "comment"]


@dataclass(frozen=True)
class Finding:
    """A broken D1 rule: stable code, file, line, message and fix."""

    code: str
    file: str
    line: int
    message: str
    fix: str

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.message} Fix: {self.fix}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}

# One alternative per token kind, tried in order at each position. A literal
# or quoted identifier without its closing quote runs to the end of the text,
# as SQLite would read it, and is marked unterminated.
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<blob>[xX]'[^']*')
  | (?P<string>'[^']*(?:''[^']*)*')
  | (?P<identifier>"[^"]*(?:""[^"]*)*"|`[^`]*(?:``[^`]*)*`|\[[^\]]*\])
  | (?P<unterminated>[xX]?'.*|["`\[].*)
  | (?P<number>0[xX][0-9A-Fa-f]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<parameter>\?\d*|[:@$][A-Za-z0-9_\x80-\U0010ffff]+)
  | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
  | (?P<punct>\|\||<=|>=|<>|!=|==|<<|>>|->>|->|.)
""", re.VERBOSE | re.DOTALL)


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text``; whitespace is skipped, comments are kept."""
    line = 1
    counted = 0  # offset up to which newlines are counted into ``line``
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        start, end = match.span()
        line += text.count("\n", counted, start)
        counted = start
        value = match.group()

        if kind == "unterminated":
            is_blob = value[0] in "xX" and value[1:2] == "'"
            if is_blob:
                kind = "blob"
            elif value[0] == "'":
                kind = "string"
            else:
                kind = "identifier"
            yield Token(kind, value, start, end, line, terminated=False)
        elif kind == "word":
            yield Token(kind, value, start, end, line, upper=value.upper())
        else:
            yield Token(kind, value, start, end, line)


def split_statements(text: str) -> list[Statement]:
    """Split SQL text into statements, with the line each one starts on.

    A trigger body (``CREATE TRIGGER ... BEGIN ... END``) is part of its
    statement: inside it, a ``;`` ends only the body's own statements, and the
    body closes at an ``END`` that follows a ``;``, so a ``CASE ... END`` in
    the body does not close it. Empty statements (``;;``) are dropped, and so
    is trailing text that holds only comments.
    """
    statements: list[Statement] = []
    current: list[Token] = []
    in_trigger_body = False
    after_semicolon = False

    def close(terminator: Token | None) -> None:
        significant = [token for token in current if token.kind != "comment"]
        if significant:
            first, last = significant[0], current[-1]
            end = terminator.start if terminator else last.end
            statements.append(Statement(
                text=text[first.start:end].rstrip(),
                line=first.line,
                end_line=(terminator or last).line,
                start=first.start,
                end=terminator.end if terminator else last.end,
                terminated=terminator is not None,
                tokens=tuple(current),
            ))
        current.clear()

    for token in tokenize(text):
        if token.kind == "comment":
            current.append(token)
            continue

        if in_trigger_body:
            current.append(token)
            if token.upper == "END" and after_semicolon:
                in_trigger_body = False
            after_semicolon = token.text == ";"
            continue

        if token.text == ";":
            close(token)
            continue

        current.append(token)
        if token.upper == "BEGIN" and _starts_trigger(current):
            in_trigger_body = True
            after_semicolon = True  # a body may be empty: "BEGIN END"

    close(None)
    return statements


def _starts_trigger(tokens: list[Token]) -> bool:
    words = [token.upper for token in tokens if token.kind != "comment"][:4]
    return bool(words) and words[0] == "CREATE" and "TRIGGER" in words[1:4]


def lint_sql(text: str, file: str = "<sql>") -> list[Finding]:
    """Return every D1 rule that ``text`` breaks, in line order."""
    findings: list[Finding] = []
    findings.extend(_check_line_endings(text, file))

    column_counts: dict[str, int] = {}
    for statement in split_statements(text):
        for check in _STATEMENT_CHECKS:
            findings.extend(check(statement, file))
        findings.extend(_check_column_count(statement, file, column_counts))

    return sorted(findings, key=lambda finding: (finding.line, finding.code))


def assert_d1_safe(text: str, file: str = "<sql>") -> None:
    """Raise ``LimitError`` naming every broken D1 rule in ``text``.

    A generator calls this before it writes a file, so that nothing it emits
    fails on D1.
    """
    findings = lint_sql(text, file)
    if not findings:
        return
    first = findings[0]
    details = "; ".join(f"line {finding.line}: {finding.code} {finding.message}" for finding in findings)
    raise LimitError(f"SQL breaks {len(findings)} D1 rule(s): {details}",
                     file=file, place=f"line {first.line}", fix=first.fix)


def _finding(code: str, file: str, line: int, message: str, fix: str) -> Finding:
    return Finding(code=code, file=file, line=line, message=message, fix=fix)


def _check_line_endings(text: str, file: str) -> Iterable[Finding]:
    index = text.find("\r")
    if index < 0:
        return []
    count = text.count("\r")
    line = text.count("\n", 0, index) + 1
    return [_finding("D1006", file, line,
                     f"{count} line(s) end in CR or CRLF, starting at line {line}; "
                     "D1's remote statement splitter expects LF line endings.",
                     "convert the file to LF line endings (for example with dos2unix).")]


def _significant(statement: Statement) -> list[Token]:
    return [token for token in statement.tokens if token.kind != "comment"]


def _check_unterminated(statement: Statement, file: str) -> Iterable[Finding]:
    for token in statement.tokens:
        if not token.terminated:
            closing = _QUOTES[token.text[1] if token.kind == "blob" else token.text[0]]
            yield _finding("D1000", file, token.line,
                           f"the {token.kind} starting with {token.text[:20]!r} is never closed, so it "
                           "runs to the end of the file.",
                           f"add the closing {closing} or remove the stray quote.")


def _check_terminator(statement: Statement, file: str) -> Iterable[Finding]:
    if not statement.terminated:
        yield _finding("D1007", file, statement.end_line,
                       "the statement does not end with ';'; D1 splits a request at semicolons and "
                       "wrangler appends its own INSERT to each migration file.",
                       "end every statement, including the last one, with ';'.")


def _check_transaction(statement: Statement, file: str) -> Iterable[Finding]:
    words = statement.keywords
    if words[0] in TRANSACTION_KEYWORDS:
        yield _finding("D1001", file, statement.line,
                       f"{words[0]} is transaction control, which D1 rejects: each request already "
                       "runs in one transaction.",
                       f"remove the {words[0]} statement; D1 commits the whole migration file or none of it.")


def _check_statement_size(statement: Statement, file: str) -> Iterable[Finding]:
    size = len(statement.text.encode("utf-8")) + 1
    if size >= MAX_STATEMENT_BYTES:
        yield _finding("D1005", file, statement.line,
                       f"the statement is {size:,} bytes; D1 accepts statements under "
                       f"{MAX_STATEMENT_BYTES:,} bytes.",
                       "split it, for example one INSERT per batch of rows.")


def _created_names(statement: Statement) -> Iterator[tuple[str, str, Token]]:
    """Yield (kind, name, token) for each table, index, trigger or view the statement creates or renames."""
    tokens = _significant(statement)
    words = [token.upper for token in tokens]
    if words[0] == "CREATE":
        for index, word in enumerate(words[1:6], start=1):
            if word in {"TABLE", "INDEX", "TRIGGER", "VIEW"}:
                name_token = _object_name(tokens, index + 1)
                if name_token is not None:
                    yield word.lower(), _identifier_text(name_token), name_token
                return
    if words[0] == "ALTER" and len(words) > 1 and words[1] == "TABLE":
        for index in range(2, len(words) - 1):
            if words[index] == "RENAME" and words[index + 1] == "TO" and index + 2 < len(tokens):
                yield "table", _identifier_text(tokens[index + 2]), tokens[index + 2]
                return


def _object_name(tokens: list[Token], index: int) -> Token | None:
    """Return the name token after ``CREATE ... TABLE``, skipping IF NOT EXISTS and a schema."""
    if [token.upper for token in tokens[index:index + 3]] == ["IF", "NOT", "EXISTS"]:
        index += 3
    if index + 2 < len(tokens) and tokens[index + 1].text == ".":
        index += 2
    return tokens[index] if index < len(tokens) else None


def _identifier_text(token: Token) -> str:
    if token.kind in {"identifier", "string"}:
        quote = token.text[0]
        body = token.text[1:-1] if token.terminated else token.text[1:]
        return body if quote == "[" else body.replace(quote * 2, quote)
    return token.text


def _check_names(statement: Statement, file: str) -> Iterable[Finding]:
    for kind, name, token in _created_names(statement):
        lowered = name.lower()
        prefix = next((prefix for prefix in RESERVED_PREFIXES if lowered.startswith(prefix)), None)
        if prefix:
            owner = "D1" if prefix == "_cf_" else "SQLite"
            yield _finding("D1002", file, token.line,
                           f"the {kind} name {name!r} starts with {prefix!r}, which {owner} reserves "
                           "for its own objects.",
                           f"rename the {kind} without the {prefix!r} prefix.")
        if kind == "table" and lowered == LEDGER_TABLE:
            yield _finding("D1003", file, token.line,
                           f"a table named {LEDGER_TABLE!r} clashes with the ledger in which wrangler "
                           "records applied migrations.",
                           "choose another table name; wrangler creates and fills d1_migrations itself.")


def _check_pragma(statement: Statement, file: str) -> Iterable[Finding]:
    tokens = _significant(statement)
    if tokens[0].upper != "PRAGMA" or len(tokens) < 2:
        return
    name_index = 3 if len(tokens) > 3 and tokens[2].text == "." else 1
    name = _identifier_text(tokens[name_index]).lower()
    assigns = name_index + 1 < len(tokens) and tokens[name_index + 1].text == "="

    if name not in ALLOWED_PRAGMAS:
        yield _finding("D1010", file, statement.line,
                       f"PRAGMA {name} is not authorized on D1.",
                       "remove it; D1 allows only " + ", ".join(sorted(ALLOWED_PRAGMAS)) + ".")
    elif name == "foreign_keys" and (assigns or name_index + 1 < len(tokens)):
        yield _finding("D1011", file, statement.line,
                       "PRAGMA foreign_keys cannot be changed on D1: it returns success but does nothing "
                       "inside D1's transaction, so foreign keys stay enforced.",
                       "remove the assignment; to rebuild a table that others reference, rebuild the "
                       "referencing tables with it: new tables first, copy parents first, drop old "
                       "children first, then rename.")


def _check_forbidden(statement: Statement, file: str) -> Iterable[Finding]:
    word = statement.keywords[0]
    if word in {"ATTACH", "DETACH", "VACUUM"}:
        yield _finding("D1012", file, statement.line,
                       f"{word} is not allowed on D1 (one database per binding, no VACUUM inside its "
                       "transaction).",
                       f"remove the {word} statement.")


def _check_parameters(statement: Statement, file: str) -> Iterable[Finding]:
    """Count parameters the way SQLite numbers them: the highest index used."""
    highest = 0
    named: set[str] = set()
    for token in statement.tokens:
        if token.kind != "parameter":
            continue
        if token.text == "?":
            highest += 1
        elif token.text.startswith("?"):
            highest = max(highest, int(token.text[1:]))
        elif token.text not in named:
            named.add(token.text)
            highest += 1
    if highest > MAX_BOUND_PARAMETERS:
        yield _finding("D1013", file, statement.line,
                       f"the statement binds {highest} parameters; D1 accepts at most "
                       f"{MAX_BOUND_PARAMETERS} per statement.",
                       "split it into statements of at most 100 parameters each.")


def _literal_bytes(token: Token) -> int:
    if token.kind == "blob":
        return (len(token.text) - 3) // 2
    return len(_identifier_text(token).encode("utf-8"))


def _check_literals(statement: Statement, file: str) -> Iterable[Finding]:
    for token in statement.tokens:
        if token.kind in {"string", "blob"} and _literal_bytes(token) >= MAX_VALUE_BYTES:
            kind = "BLOB" if token.kind == "blob" else "string"
            yield _finding("D1014", file, token.line,
                           f"a {kind} literal of {_literal_bytes(token):,} bytes; D1 accepts values under "
                           f"{MAX_VALUE_BYTES:,} bytes.",
                           "store large values in R2 and keep a key in the row.")


def _check_rows(statement: Statement, file: str) -> Iterable[Finding]:
    tokens = _significant(statement)
    words = [token.upper for token in tokens]
    if words[0] not in {"INSERT", "REPLACE"} or "VALUES" not in words:
        return
    depth = 0
    row_bytes = 0
    row_line = 0
    for token in tokens[words.index("VALUES") + 1:]:
        if token.text == "(":
            depth += 1
            if depth == 1:
                row_bytes, row_line = 0, token.line
        elif token.text == ")":
            depth -= 1
            if depth == 0 and row_bytes >= MAX_VALUE_BYTES:
                yield _finding("D1015", file, row_line,
                               f"a row of {row_bytes:,} bytes of literals; D1 accepts rows under "
                               f"{MAX_VALUE_BYTES:,} bytes.",
                               "move large values to R2 or split the row across tables.")
        elif depth >= 1 and token.kind in {"string", "blob", "number"}:
            row_bytes += _literal_bytes(token) if token.kind != "number" else 8


# A word before "(" that opens a list or subquery, not a function call.
_NOT_FUNCTIONS = frozenset({
    "VALUES", "IN", "KEY", "UNIQUE", "CHECK", "AS", "OVER", "FILTER", "USING", "EXISTS", "SELECT",
    "ON", "SET", "WHERE", "AND", "OR", "NOT", "FROM", "JOIN", "DEFAULT", "WHEN", "THEN", "ELSE",
    "CASE", "BY", "WITH", "RETURNING", "TABLE", "INTO", "REFERENCES", "UNION", "ALL", "EXCEPT",
    "INTERSECT", "DO", "PARTITION", "WINDOW", "HAVING", "IS", "LIKE", "GLOB", "BETWEEN",
})
# A word after which the next name and "(" are a table, index or column list.
_NAME_INTRODUCERS = frozenset({"TABLE", "INTO", "ON", "REFERENCES", "EXISTS", "VIEW", "INDEX", "USING"})


def _check_function_arguments(statement: Statement, file: str) -> Iterable[Finding]:
    tokens = _significant(statement)
    for index in range(len(tokens) - 1):
        name, opening = tokens[index], tokens[index + 1]
        if name.kind != "word" or opening.text != "(" or name.upper in _NOT_FUNCTIONS:
            continue
        before = _token_before_name(tokens, index)
        if before is not None and before.upper in _NAME_INTRODUCERS:
            continue
        arguments, closing = _count_arguments(tokens, index + 1)
        if closing + 1 < len(tokens) and tokens[closing + 1].upper == "AS":
            continue  # a common table expression's column list
        if arguments > MAX_FUNCTION_ARGUMENTS:
            yield _finding("D1016", file, name.line,
                           f"{name.text}() is called with {arguments} arguments; D1 accepts at most "
                           f"{MAX_FUNCTION_ARGUMENTS} per function call.",
                           "split the call, for example nest json_object() calls or concatenate "
                           "partial results.")


def _token_before_name(tokens: list[Token], index: int) -> Token | None:
    """Return the token before a possibly schema-qualified name ending at ``index``."""
    if index >= 2 and tokens[index - 1].text == ".":
        index -= 2
    return tokens[index - 1] if index >= 1 else None


def _count_arguments(tokens: list[Token], opening: int) -> tuple[int, int]:
    """Return the number of top-level arguments in the parentheses at ``opening`` and the closing index."""
    depth = 0
    commas = 0
    empty = True
    for index in range(opening, len(tokens)):
        text = tokens[index].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return (0 if empty else commas + 1), index
        elif depth == 1 and text == ",":
            commas += 1
        if depth >= 1 and index > opening:
            empty = False
    return (0 if empty else commas + 1), len(tokens) - 1


def _trigger_body(statement: Statement) -> list[Token] | None:
    """Return the tokens between a trigger's BEGIN and its closing END, or None."""
    tokens = _significant(statement)
    if not _starts_trigger(tokens):
        return None
    words = [token.upper for token in tokens]
    if "BEGIN" not in words:
        return None
    begin = words.index("BEGIN")
    end = len(tokens) - 1 if words[-1] == "END" else len(tokens)
    return tokens[begin + 1:end]


def _check_trigger_body(statement: Statement, file: str) -> Iterable[Finding]:
    body = _trigger_body(statement)
    if body is None:
        return
    case = next((token for token in body if token.upper == "CASE"), None)
    if case is not None:
        yield _finding("D1008", file, case.line,
                       "the trigger body contains CASE ... END; D1's remote statement splitter takes "
                       "that END for the end of the trigger and breaks the statement.",
                       "move the condition into the trigger's WHEN clause, one trigger per case.")
    body_statements = sum(1 for token in body if token.text == ";")
    if body_statements > 1:
        yield _finding("D1009", file, statement.line,
                       f"the trigger body holds {body_statements} statements; keep trigger bodies to "
                       "one statement so that D1's remote statement splitter cannot cut them apart.",
                       "split it into one trigger per statement, each with its own WHEN condition.")


def _check_column_count(statement: Statement, file: str, counts: dict[str, int]) -> Iterable[Finding]:
    """Count columns of tables created in this file, including ADD and DROP COLUMN later on."""
    tokens = _significant(statement)
    words = [token.upper for token in tokens]
    created = next((name for kind, name, _ in _created_names(statement) if kind == "table"), None)

    if words[0] == "CREATE" and created is not None and "(" in [token.text for token in tokens]:
        opening = [token.text for token in tokens].index("(")
        if "AS" in words[:opening]:
            return
        counts[created.lower()] = _count_column_definitions(tokens, opening)
        table = created
    elif words[:2] == ["ALTER", "TABLE"] and len(tokens) > 2:
        name_token = tokens[4] if len(tokens) > 4 and tokens[3].text == "." else tokens[2]
        table = _identifier_text(name_token)
        if table.lower() not in counts:
            return
        if "ADD" in words:
            counts[table.lower()] += 1
        elif "DROP" in words:
            counts[table.lower()] -= 1
        if created is not None:
            counts[created.lower()] = counts.pop(table.lower())
            table = created
    else:
        return

    if counts[table.lower()] > MAX_COLUMNS_PER_TABLE:
        yield _finding("D1004", file, statement.line,
                       f"table {table!r} has {counts[table.lower()]} columns; D1 accepts at most "
                       f"{MAX_COLUMNS_PER_TABLE} per table.",
                       "move rarely used columns into a one-to-one child table or a JSON column.")


def _count_column_definitions(tokens: list[Token], opening: int) -> int:
    """Count column definitions in a CREATE TABLE body, leaving out table constraints."""
    constraint_words = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
    columns = 0
    depth = 0
    at_item_start = True
    for token in tokens[opening:]:
        if token.text == "(":
            depth += 1
            if depth == 1:
                continue
        elif token.text == ")":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and token.text == ",":
            at_item_start = True
            continue
        if depth == 1 and at_item_start:
            if token.upper not in constraint_words:
                columns += 1
            at_item_start = False
    return columns


_STATEMENT_CHECKS = (
    _check_unterminated,
    _check_terminator,
    _check_transaction,
    _check_statement_size,
    _check_names,
    _check_pragma,
    _check_forbidden,
    _check_parameters,
    _check_literals,
    _check_rows,
    _check_function_arguments,
    _check_trigger_body,
)
