"""Read a live SQLite or D1 schema into plain values, and replay a migrations folder.

Everything goes through ``execute(sql) -> list[dict]`` so that the same code
reads a Python ``sqlite3`` connection, a wrangler local state file or a remote
D1 behind a REST client. Remote D1 rejects table-valued pragma functions
(``pragma_table_info('t')``), so each table costs one plain ``PRAGMA
table_xinfo``, ``index_list`` and ``foreign_key_list``, plus one
``index_xinfo`` per UNIQUE constraint.

What the pragmas do not report (CHECK constraints, generated expressions,
collations, AUTOINCREMENT, DEFERRABLE, partial and expression index terms) is
read from the ``CREATE`` text in ``sqlite_master`` with a small tokenizer.
Expressions are kept as written and compared through :func:`normalize_sql`,
which removes what SQLite stores differently from what was written: quoting,
case, whitespace and redundant outer parentheses.
"""

from __future__ import annotations

import functools
import heapq
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from dmodel.conventions import quote_identifier
from dmodel.errors import InputError

Execute = Callable[[str], list[dict]]
logger = logging.getLogger(__name__)

# Tables that belong to the platform, not to the schema: D1's own tables,
# wrangler's migration ledger and SQLite's internal tables.
SKIPPED_PREFIXES = ("_cf_", "sqlite_")
SKIPPED_TABLES = frozenset({"d1_migrations"})


# --- tokens ---------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<blob>[xX]'[0-9a-fA-F]*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)
  | (?P<parameter>[?:@$][\w]*)
  | (?P<operator>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|.)
""", re.S | re.X)


class Token(NamedTuple):
    """One lexical token: its kind (a group name of ``_TOKEN``), its text and its offsets."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def value(self) -> str:
        """Return the identifier or keyword this token names, unquoted and lowercased."""
        if self.kind == "quoted":
            inner = self.text[1:-1]
            if self.text[0] in "\"`":
                inner = inner.replace(self.text[0] * 2, self.text[0])
            return inner.lower()
        return self.text.lower()

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words

    @property
    def is_name(self) -> bool:
        return self.kind in ("word", "quoted")


@functools.lru_cache(maxsize=65536)
def tokenize(sql: str) -> tuple[Token, ...]:
    """Split SQL text into tokens, without spaces and comments.

    Results are cached, because planning reads the same ``CREATE`` text in
    the current, target and scratch schemas.
    """
    make = tuple.__new__  # Skips NamedTuple's Python-level __new__, which doubled the cost of a parse.
    return tuple(make(Token, (match.lastgroup or "operator", match.group(), match.start(), match.end()))
                 for match in _TOKEN.finditer(sql) if match.lastgroup not in ("space", "comment"))


def _render_token(token: Token) -> str:
    if token.kind == "quoted":
        return quote_identifier(token.value)
    if token.kind in ("word", "blob"):
        return token.text.lower()
    return token.text


def _strip_outer_parentheses(tokens: list[Token]) -> list[Token]:
    while len(tokens) >= 2 and tokens[0].text == "(" and tokens[-1].text == ")":
        if _matching_parenthesis(tokens, 0) != len(tokens) - 1:
            break
        tokens = tokens[1:-1]
    return tokens


def _matching_parenthesis(tokens: list[Token], opening: int) -> int:
    depth = 0
    for position in range(opening, len(tokens)):
        if tokens[position].text == "(":
            depth += 1
        elif tokens[position].text == ")":
            depth -= 1
            if depth == 0:
                return position
    return len(tokens) - 1


@functools.lru_cache(maxsize=65536)
def normalize_sql(sql: str | None) -> str | None:
    """Return a canonical form of an expression or statement for comparison.

    Identifiers are unquoted where quoting is not needed and lowercased (SQLite
    compares them case-insensitively), keywords are lowercased, string
    literals are kept, tokens are joined by single spaces and redundant outer
    parentheses go, so ``DEFAULT (0)`` equals ``DEFAULT 0`` and
    ``CREATE TABLE "orders"`` equals ``CREATE TABLE orders``.
    """
    if sql is None:
        return None
    tokens = [token for token in tokenize(sql) if token.text != ";" or token.kind != "operator"]
    tokens = _strip_outer_parentheses(tokens)
    return " ".join(_render_token(token) for token in tokens)


_CODE = re.compile(r"--[^\n]*|/\*.*?(?:\*/|\Z)|\s+", re.S)


def _has_code(text: str) -> bool:
    return bool(_CODE.sub("", text))


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, each ending with ``;``.

    A ``;`` inside a string, a comment or a trigger body does not end a
    statement, because ``sqlite3.complete_statement`` decides where one is
    complete. Text after the last ``;`` is returned as a statement of its own
    when it contains more than spaces and comments.
    """
    statements = []
    start = 0
    position = sql.find(";")
    while position >= 0:
        candidate = sql[start:position + 1]
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate[:-1]):
                statements.append(candidate.strip())
            start = position + 1
        position = sql.find(";", position + 1)
    rest = sql[start:]
    if _has_code(rest):
        statements.append(rest.strip())
    return statements


def identifiers_in(sql: str) -> frozenset[str]:
    """Return every name a statement mentions, lowercased: tables, columns, functions."""
    return _identifiers(sql)


@functools.lru_cache(maxsize=65536)
def _identifiers(sql: str) -> frozenset[str]:
    return frozenset(token.value for token in tokenize(sql) if token.is_name)


def add_if_not_exists(sql: str) -> str:
    """Insert ``IF NOT EXISTS`` into a ``CREATE`` statement as ``sqlite_master`` stores it."""
    return re.sub(r"\A(CREATE\s+(?:UNIQUE\s+|VIRTUAL\s+|TEMP\s+|TEMPORARY\s+)?(?:TABLE|INDEX|VIEW|TRIGGER))\s+"
                  r"(?!IF\s+NOT\s+EXISTS\b)",
                  r"\1 IF NOT EXISTS ", sql.strip(), count=1, flags=re.I)


# --- schema values --------------------------------------------------------

@dataclass
class Column:
    """One column, as the pragmas report it and the ``CREATE TABLE`` text adds."""

    name: str
    type: str = ""
    not_null: bool = False
    default: str | None = None
    primary_key: int = 0
    hidden: int = 0
    generated: str | None = None
    collation: str | None = None
    checks: list[str] = field(default_factory=list)
    definition: str = ""

    @property
    def is_generated(self) -> bool:
        """Whether the column is computed: table_xinfo reports 2 for VIRTUAL and 3 for STORED."""
        return self.hidden in (2, 3)

    @property
    def references(self) -> bool:
        return any(token.is_word("references") for token in tokenize(self.definition))


@dataclass
class ForeignKey:
    """A foreign key; ``ref_columns`` is empty when it references the parent's primary key."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ()
    on_update: str = "NO ACTION"
    on_delete: str = "NO ACTION"
    match: str = "NONE"
    deferred: bool = False


@dataclass
class Table:
    """A table and everything that belongs to its ``CREATE TABLE`` statement."""

    name: str
    sql: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    strict: bool = False
    without_rowid: bool = False
    autoincrement: bool = False
    virtual: bool = False

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        for column in self.columns:
            if column.name.lower() == lowered:
                return column
        return None

    @property
    def stored_columns(self) -> list[Column]:
        """The columns that hold values, which a copy reads and writes (generated ones excluded)."""
        return [column for column in self.columns if not column.is_generated]

    @property
    def rowid_alias(self) -> bool:
        """Whether an ``INTEGER PRIMARY KEY`` column is the rowid, so the rowid survives a copy."""
        if self.without_rowid or len(self.primary_key) != 1:
            return False
        column = self.column(self.primary_key[0])
        return column is not None and column.type.upper() == "INTEGER"

    @property
    def all_checks(self) -> list[str]:
        return [*(check for column in self.columns for check in column.checks), *self.checks]


@dataclass
class Index:
    """An index created with ``CREATE INDEX``; UNIQUE constraints belong to their table."""

    name: str
    table: str
    sql: str
    unique: bool = False
    terms: tuple[str, ...] = ()
    where: str | None = None


@dataclass
class Trigger:
    name: str
    table: str
    sql: str


@dataclass
class View:
    name: str
    sql: str


@dataclass
class Schema:
    """A whole schema, keyed by lowercased name, in ``sqlite_master`` order."""

    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name.lower())

    def statements(self) -> list[str]:
        """Return the ``CREATE`` statements that rebuild this schema in an empty database."""
        creates = [table.sql for table in self.tables.values()]
        creates += [index.sql for index in self.indexes.values()]
        creates += [view.sql for view in self.views.values()]
        creates += [trigger.sql for trigger in self.triggers.values()]
        return [sql.rstrip().rstrip(";") + ";" for sql in creates]

    def __bool__(self) -> bool:
        return bool(self.tables or self.indexes or self.triggers or self.views)


# --- parsing CREATE statements ----------------------------------------------

_COLUMN_CONSTRAINT_WORDS = frozenset({
    "constraint", "primary", "not", "null", "unique", "check", "default", "collate",
    "references", "generated", "as",
})
_TABLE_CONSTRAINT_WORDS = frozenset({"constraint", "primary", "unique", "check", "foreign"})


def _split_top_level(tokens: list[Token], separator: str = ",") -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if depth == 0 and token.kind == "operator" and token.text == separator:
            parts.append([])
            continue
        parts[-1].append(token)
    return [part for part in parts if part]


def _text(sql: str, tokens: list[Token]) -> str:
    return sql[tokens[0].start:tokens[-1].end] if tokens else ""


def _parenthesized(sql: str, tokens: list[Token], opening: int) -> tuple[str, int]:
    """Return the text inside the parentheses that open at ``opening`` and the index of the closing one."""
    closing = _matching_parenthesis(tokens, opening)
    return _text(sql, tokens[opening + 1:closing]), closing


def _table_body(tokens: list[Token]) -> tuple[int, int]:
    """Return the indexes of the parentheses that enclose a CREATE TABLE's definitions."""
    for position, token in enumerate(tokens):
        if token.text == "(":
            return position, _matching_parenthesis(tokens, position)
    return -1, -1


@dataclass
class _ParsedTable:
    columns: dict[str, Column] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    deferred: set[tuple[tuple[str, ...], str]] = field(default_factory=set)
    autoincrement: bool = False
    strict: bool = False
    without_rowid: bool = False


def _parse_references(tokens: list[Token], start: int) -> tuple[str, bool]:
    """Return the parent table after REFERENCES at ``start`` and whether the key is DEFERRABLE INITIALLY DEFERRED."""
    parent = tokens[start + 1].value if start + 1 < len(tokens) else ""
    deferred = False
    for position in range(start, len(tokens) - 2):
        if (tokens[position].is_word("deferrable") and tokens[position + 1].is_word("initially")
                and tokens[position + 2].is_word("deferred")):
            deferred = position == 0 or not tokens[position - 1].is_word("not")
    return parent, deferred


def _parse_column(sql: str, tokens: list[Token], parsed: _ParsedTable) -> None:
    column = Column(name=tokens[0].value, definition=_text(sql, tokens))
    position = 1
    while position < len(tokens):
        token = tokens[position]
        word = token.text.lower() if token.kind == "word" else ""
        opens = position + 1 < len(tokens) and tokens[position + 1].text == "("
        if word == "check" and opens:
            expression, position = _parenthesized(sql, tokens, position + 1)
            column.checks.append(expression)
        elif word == "as" and opens:
            column.generated, position = _parenthesized(sql, tokens, position + 1)
        elif word == "collate" and position + 1 < len(tokens):
            column.collation = tokens[position + 1].value.upper()
            position += 1
        elif word == "autoincrement":
            parsed.autoincrement = True
        elif word == "references":
            parent, deferred = _parse_references(tokens, position)
            if deferred:
                parsed.deferred.add(((column.name,), parent))
            break
        elif token.text == "(":
            position = _matching_parenthesis(tokens, position)
        position += 1
    parsed.columns[column.name] = column


def _parse_table_constraint(sql: str, tokens: list[Token], parsed: _ParsedTable) -> None:
    for position, token in enumerate(tokens):
        if token.is_word("check") and position + 1 < len(tokens) and tokens[position + 1].text == "(":
            parsed.checks.append(_parenthesized(sql, tokens, position + 1)[0])
            return
        if token.is_word("foreign") and position + 2 < len(tokens) and tokens[position + 2].text == "(":
            closing = _matching_parenthesis(tokens, position + 2)
            columns = tuple(t.value for t in tokens[position + 3:closing] if t.is_name)
            for reference in range(closing, len(tokens)):
                if tokens[reference].is_word("references"):
                    parent, deferred = _parse_references(tokens, reference)
                    if deferred:
                        parsed.deferred.add((columns, parent))
                    break
            return
        if token.is_word("autoincrement"):
            parsed.autoincrement = True


@functools.lru_cache(maxsize=16384)
def parse_create_table(sql: str) -> _ParsedTable:
    """Read what the pragmas leave out from a ``CREATE TABLE`` statement.

    The result is cached, so callers copy what they change.
    """
    tokens = tokenize(sql)
    parsed = _ParsedTable()
    opening, closing = _table_body(tokens)
    if opening < 0:
        return parsed
    for definition in _split_top_level(tokens[opening + 1:closing]):
        if definition[0].kind == "word" and definition[0].value in _TABLE_CONSTRAINT_WORDS:
            _parse_table_constraint(sql, definition, parsed)
        else:
            _parse_column(sql, definition, parsed)
    for option in _split_top_level(tokens[closing + 1:]):
        words = [token.value for token in option]
        parsed.strict = parsed.strict or words == ["strict"]
        parsed.without_rowid = parsed.without_rowid or words == ["without", "rowid"]
    return parsed


def parse_create_index(sql: str) -> tuple[tuple[str, ...], str | None]:
    """Return the normalized terms and WHERE clause of a ``CREATE INDEX`` statement."""
    tokens = tokenize(sql)
    opening, closing = _table_body(tokens)
    if opening < 0:
        return (), None
    terms = tuple(normalize_sql(_text(sql, term)) or "" for term in _split_top_level(tokens[opening + 1:closing]))
    rest = tokens[closing + 1:]
    where = None
    if rest and rest[0].is_word("where"):
        where = normalize_sql(_text(sql, rest[1:]))
    return terms, where


# --- introspection --------------------------------------------------------

def _quote_pragma_argument(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _skipped(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(SKIPPED_PREFIXES) or lowered in SKIPPED_TABLES


def _table_kinds(execute: Execute) -> dict[str, dict]:
    """Return ``PRAGMA table_list`` rows by lowercased name, or nothing before SQLite 3.37."""
    try:
        rows = execute("PRAGMA table_list")
    except Exception as error:  # Any executor's error: SQLite before 3.37 has no table_list.
        logger.info("PRAGMA table_list failed (%s); reading STRICT and WITHOUT ROWID from the CREATE text", error)
        return {}
    return {str(row["name"]).lower(): row for row in rows if row.get("schema", "main") == "main"}


def _introspect_table(execute: Execute, name: str, sql: str, kind: dict | None) -> Table:
    parsed = parse_create_table(sql)
    table = Table(name=name, sql=sql, autoincrement=parsed.autoincrement)
    table.strict = bool(kind["strict"]) if kind else parsed.strict
    table.without_rowid = bool(kind["wr"]) if kind else parsed.without_rowid
    table.checks = list(parsed.checks)

    quoted = _quote_pragma_argument(name)
    primary_key = []
    for row in execute(f"PRAGMA table_xinfo({quoted})"):
        written = parsed.columns.get(str(row["name"]).lower()) or Column(name=row["name"])
        column = Column(name=row["name"], type=row["type"] or "", not_null=bool(row["notnull"]),
                        default=row["dflt_value"], primary_key=int(row["pk"]), hidden=int(row["hidden"]),
                        generated=written.generated, collation=written.collation, checks=list(written.checks),
                        definition=written.definition)
        table.columns.append(column)
        if column.primary_key:
            primary_key.append((column.primary_key, column.name))
    table.primary_key = tuple(name for _, name in sorted(primary_key))

    for row in execute(f"PRAGMA index_list({quoted})"):
        if row["origin"] != "u":
            continue
        key = [info for info in execute(f"PRAGMA index_xinfo({_quote_pragma_argument(row['name'])})") if info["key"]]
        table.uniques.append(tuple(str(info["name"]) for info in key))

    grouped: dict[int, list[dict]] = {}
    for row in execute(f"PRAGMA foreign_key_list({quoted})"):
        grouped.setdefault(int(row["id"]), []).append(row)
    for rows in grouped.values():
        rows.sort(key=lambda row: row["seq"])
        columns = tuple(str(row["from"]) for row in rows)
        parent = str(rows[0]["table"])
        ref_columns = tuple(str(row["to"]) for row in rows if row["to"] is not None)
        deferred = (tuple(c.lower() for c in columns), parent.lower()) in parsed.deferred
        table.foreign_keys.append(ForeignKey(
            columns=columns, ref_table=parent, ref_columns=ref_columns, on_update=rows[0]["on_update"],
            on_delete=rows[0]["on_delete"], match=rows[0]["match"], deferred=deferred))
    table.foreign_keys.sort(key=lambda key: (key.columns, key.ref_table))
    return table


def introspect(execute: Execute, *, tables: set[str] | None = None) -> Schema:
    """Read the schema behind ``execute(sql) -> list[dict]`` into a :class:`Schema`.

    Skips D1's ``_cf_*`` tables, SQLite's ``sqlite_*`` tables, wrangler's
    ``d1_migrations`` and the shadow tables of virtual tables. With
    ``tables`` (lowercased names), reads only those tables with their
    indexes and triggers, and no views.
    """
    kinds = _table_kinds(execute)
    schema = Schema()
    rows = execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
    for row in rows:
        kind, name, sql = row["type"], str(row["name"]), row["sql"]
        if sql is None or _skipped(name) or _skipped(str(row["tbl_name"])):
            continue
        if tables is not None and str(row["tbl_name"]).lower() not in tables:
            continue
        key = name.lower()
        if kind == "table":
            listed = kinds.get(key)
            if listed is not None and listed["type"] == "shadow":
                continue
            if sql.upper().startswith("CREATE VIRTUAL TABLE"):
                schema.tables[key] = Table(name=name, sql=sql, virtual=True)
            else:
                schema.tables[key] = _introspect_table(execute, name, sql, listed)
        elif kind == "index":
            terms, where = parse_create_index(sql)
            unique = sql.upper().startswith("CREATE UNIQUE")
            schema.indexes[key] = Index(name=name, table=str(row["tbl_name"]), sql=sql, unique=unique,
                                        terms=terms, where=where)
        elif kind == "trigger":
            schema.triggers[key] = Trigger(name=name, table=str(row["tbl_name"]), sql=sql)
        elif kind == "view":
            schema.views[key] = View(name=name, sql=sql)
    _drop_shadow_tables(schema, kinds)
    return schema


def _drop_shadow_tables(schema: Schema, kinds: dict[str, dict]) -> None:
    """Drop the shadow tables of virtual tables when ``PRAGMA table_list`` could not mark them."""
    if kinds:
        return
    for virtual in [table.name.lower() for table in schema.tables.values() if table.virtual]:
        for key in [key for key in schema.tables if key.startswith(virtual + "_")]:
            if key.rsplit("_", 1)[1] in ("data", "idx", "content", "docsize", "config"):
                del schema.tables[key]


def connection_executor(connection: sqlite3.Connection) -> Execute:
    """Return an ``execute`` callable over a ``sqlite3`` connection that yields dict rows."""

    def execute(sql: str) -> list[dict]:
        cursor = connection.execute(sql)
        names = [description[0] for description in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    return execute


def introspect_connection(connection: sqlite3.Connection) -> Schema:
    return introspect(connection_executor(connection))


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a SQLite file read-only, raising :class:`InputError` when it is missing or not SQLite."""
    path = Path(path)
    if not path.is_file():
        raise InputError("database file not found", file=str(path), fix="pass the path of a SQLite database file")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        connection.close()
        raise InputError(f"not a SQLite database ({error})", file=str(path),
                         fix="pass a SQLite file, such as the .sqlite file under .wrangler/state/v3/d1/") from None
    return connection


def introspect_file(path: Path) -> Schema:
    """Read the schema of a SQLite file, opened read-only."""
    connection = open_read_only(path)
    try:
        return introspect_connection(connection)
    finally:
        connection.close()


# --- replaying migrations -------------------------------------------------

def migration_files(migrations_dir: Path | None) -> list[Path]:
    """Return the top-level ``*.sql`` files in name order, as wrangler applies them."""
    if migrations_dir is None or not Path(migrations_dir).is_dir():
        return []
    return sorted((path for path in Path(migrations_dir).iterdir() if path.suffix == ".sql" and path.is_file()),
                  key=lambda path: path.name)


def scratch_connection() -> sqlite3.Connection:
    """Open an in-memory database with foreign keys on and no implicit transactions."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def apply_script(connection: sqlite3.Connection, sql: str, *, file: str = "<sql>") -> None:
    """Run every statement of ``sql`` in one transaction, as D1 applies a migration file.

    ``PRAGMA foreign_keys`` is whatever the connection has, and it cannot
    change inside the transaction, just as on D1. A failing statement rolls
    the whole script back and raises :class:`InputError` naming it.
    """
    statements = split_statements(sql)
    connection.execute("BEGIN")
    for number, statement in enumerate(statements, start=1):
        try:
            connection.execute(statement)
        except sqlite3.Error as error:
            connection.execute("ROLLBACK")
            line = sql[:sql.find(statement)].count("\n") + 1 if statement in sql else 0
            raise InputError(f"statement {number} failed: {error}: {statement[:200]}", file=file,
                             place=f"line {line}",
                             fix="correct the statement; the whole file was rolled back") from None
    try:
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        connection.execute("ROLLBACK")
        raise InputError(f"commit failed: {error}", file=file,
                         fix="run PRAGMA foreign_key_check to find the rows that violate a foreign key") from None


def replay(migrations_dir: Path | None) -> sqlite3.Connection:
    """Apply every top-level migration file, in name order, to a scratch in-memory database."""
    connection = scratch_connection()
    for path in migration_files(migrations_dir):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read migration: {error}", file=str(path),
                             fix="make the file readable UTF-8 text") from None
        apply_script(connection, text, file=str(path))
    return connection


def current_schema(migrations_dir: Path | None) -> Schema:
    """Return the schema that the existing migration files produce."""
    connection = replay(migrations_dir)
    try:
        return introspect_connection(connection)
    finally:
        connection.close()


def schema_from_sql(sql: str, *, file: str = "<schema>") -> Schema:
    """Apply a schema script to a scratch database and introspect it."""
    connection = scratch_connection()
    try:
        apply_script(connection, sql, file=file)
        return introspect_connection(connection)
    finally:
        connection.close()


def iter_references(schema: Schema) -> Iterator[tuple[str, str, ForeignKey]]:
    """Yield (child key, parent key, foreign key) for every foreign key in the schema."""
    for key, table in schema.tables.items():
        for foreign_key in table.foreign_keys:
            yield key, foreign_key.ref_table.lower(), foreign_key


def dependency_order(names: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Order names so that each parent comes before its children, otherwise keeping the given order.

    ``edges`` are (child, parent) pairs; self references and names outside
    ``names`` are ignored, and a cycle is broken at its earliest name.
    """
    ordered_input = list(dict.fromkeys(names))
    position = {name: index for index, name in enumerate(ordered_input)}
    parents: dict[str, set[str]] = {name: set() for name in ordered_input}
    children: dict[str, set[str]] = {name: set() for name in ordered_input}
    for child, parent in edges:
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
            children[parent].add(child)
    waiting = {name: len(parents[name]) for name in ordered_input}
    ready = [(position[name], name) for name in ordered_input if not waiting[name]]
    heapq.heapify(ready)
    remaining = set(ordered_input)
    ordered: list[str] = []
    while remaining:
        if ready:
            _, name = heapq.heappop(ready)
            if name not in remaining:
                continue
        else:
            name = min(remaining, key=position.__getitem__)
        ordered.append(name)
        remaining.discard(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0 and child in remaining:
                heapq.heappush(ready, (position[child], child))
    return ordered
