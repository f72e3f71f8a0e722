"""Input loaders: read discovery documents, record files and SQL dumps from disk.

This is an adapter: it does the file I/O and hands the pure core a merged
``Discovery`` and a list of datasets. Records keep the values as parsed:
nested objects and arrays from JSON, strings from CSV (an empty cell stays
``''``), Python values from SQL literals. Typing them is the profiler's job.

Every problem with the input raises ``InputError`` naming the file, the place
in it (line, record, JSON path or SQL statement) and the fix.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pydantic
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import TokenType

from dmodel import discovery as discovery_module
from dmodel.conventions import pluralize, snake_case, unique_name
from dmodel.discovery import (
    DeclaredEntity, DeclaredField, DeclaredRelationship, Discovery, looks_like_discovery,
)
from dmodel.errors import InputError

log = logging.getLogger(__name__)

# File name endings and the format each one selects.
EXTENSION_FORMATS = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".csv": "csv",
    ".tsv": "tsv",
    ".sql": "sql",
    ".db": "sqlite-database",
    ".sqlite": "sqlite-database",
    ".sqlite3": "sqlite-database",
}
RECORD_FORMATS = ("json", "ndjson", "csv", "tsv")
# Dialects tried in this order when a SQL file is loaded without one; a dialect whose dump tool left
# its marks in the file (see _DIALECT_MARKS) is tried first.
SQL_DIALECTS = ("sqlite", "postgres", "mysql", "tsql", "oracle", "duckdb", "snowflake", "bigquery")
FORMAT_ALIASES = {"jsonl": "ndjson", "discovery": "json", "ddl": "sql"}

_ACCEPTED = "'.json', '.ndjson', '.jsonl', '.csv', '.tsv', '.sql', '.db', '.sqlite' or '.sqlite3'"
_FORMAT_FIX = (f"rename the file to end in {_ACCEPTED}, or pass --format json, ndjson, csv, tsv, sql, "
               "sqlite-database or a SQL dialect such as postgres, mysql or tsql")


@dataclass
class LoadedDataset:
    """Raw records of one dataset, as parsed from one file or one discovery entry."""

    name: str
    source: str
    file: str
    records: list[dict[str, Any]]
    entity: str | None = None
    origin: str = "json"
    notes: list[str] = field(default_factory=list)


@dataclass
class LoadedInput:
    """The merged discovery document and the datasets of all input paths."""

    discovery: Discovery
    datasets: list[LoadedDataset]
    files: list[str]
    skipped: list[str] = field(default_factory=list)


def load_inputs(paths: list[str], format: str | None = None) -> LoadedInput:  # noqa: A002 - the CLI option's name
    """Load every path (file or folder) into one merged discovery and a list of datasets.

    ``format`` overrides the file extension: ``json``, ``ndjson``, ``csv``,
    ``tsv``, ``sql``, ``sqlite-database`` or a SQL dialect name that sqlglot
    recognizes (``postgres``, ``mysql``, ``tsql``...), which also selects
    ``sql``. A SQLite database file is read as its dump whatever its name.

    Discovery documents are read first, so that a record file that a
    document names in a dataset ``path`` and that is also given (or sits in
    a given folder) is loaded once, as the document describes it.
    """
    if not paths:
        raise InputError("no input given", fix="pass a discovery document, a record file (JSON, NDJSON, CSV) "
                         "or a folder of them")
    loader = _Loader(_normalize_format(format))
    entries = [entry for path in paths for entry in loader.expand(path)]

    parsed: dict[str, Any] = {}
    for path, (kind, _) in entries:
        if kind == "json":
            parsed[path] = _parse_json(path, _read_text(path))
            if looks_like_discovery(parsed[path]):
                loader.files.append(path)
                loader.add_discovery(path, parsed[path])
    for path, format_choice in entries:
        if path in parsed and looks_like_discovery(parsed[path]):
            continue
        if Path(path).resolve() in loader.dataset_files:
            continue
        loader.load_file(path, format_choice, parsed.get(path))
    return LoadedInput(discovery=loader.discovery, datasets=loader.datasets, files=loader.files,
                       skipped=loader.skipped)


def _normalize_format(format_name: str | None) -> tuple[str, str | None] | None:
    """Return (format, SQL dialect) for a --format value, or None for "by extension"."""
    if format_name is None:
        return None
    name = format_name.strip().lower()
    name = FORMAT_ALIASES.get(name, name)
    if name in RECORD_FORMATS or name in ("sql", "sqlite-database"):
        return name, None
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        raise InputError(f"unknown input format {format_name!r}",
                         fix="use json, ndjson, csv, tsv, sql, sqlite-database or a SQL dialect such as "
                             "postgres, mysql, tsql or sqlite") from None
    return "sql", name


class _Loader:
    """State shared while loading several paths: the merged discovery, datasets, names in use."""

    def __init__(self, format_choice: tuple[str, str | None] | None) -> None:
        self.format_choice = format_choice
        self.discovery = Discovery()
        self.datasets: list[LoadedDataset] = []
        self.files: list[str] = []
        self.skipped: list[str] = []
        self.names: set[str] = set()
        self.dataset_files: set[Path] = set()

    def expand(self, path: str) -> list[tuple[str, tuple[str, str | None]]]:
        """Return the files to read for ``path`` with their formats: the file itself, or a folder's files by name."""
        location = Path(path)
        if location.is_file():
            return [(path, self._format_of(path))]
        if not location.is_dir():
            raise InputError("file or folder not found", file=path,
                             fix="check the path; relative paths are read from the current directory")
        entries = []
        for entry in sorted(location.iterdir(), key=lambda item: item.name):
            if entry.name.startswith("."):
                continue
            file_path = str(location / entry.name)
            if not entry.is_file() or (self.format_choice is None and entry.suffix.lower() not in EXTENSION_FORMATS):
                log.info("%s: skipped, not a supported input file", file_path)
                self.skipped.append(file_path)
                continue
            entries.append((file_path, self._format_of(file_path)))
        if not entries:
            raise InputError("folder contains no supported input file", file=path,
                             fix=f"put files ending in {_ACCEPTED} in it, or pass the files themselves")
        return entries

    def _format_of(self, path: str) -> tuple[str, str | None]:
        if self.format_choice is not None:
            return self.format_choice
        suffix = Path(path).suffix.lower()
        if suffix not in EXTENSION_FORMATS:
            raise InputError(f"unsupported file type {suffix or '(no extension)'!r}", file=path,
                             fix=_FORMAT_FIX)
        return EXTENSION_FORMATS[suffix], None

    def load_file(self, path: str, format_choice: tuple[str, str | None], data: Any = None) -> None:
        """Load one record file or SQL dump; ``data`` is the file's parsed JSON when the caller has it."""
        kind, dialect = format_choice
        self.files.append(path)
        if kind == "sqlite-database" or _is_sqlite_database(path):
            self._add_sql(path, _dump_sqlite_database(path), "sqlite")
            return
        if kind == "sql":
            self._add_sql(path, _read_text(path), dialect)
            return
        if kind == "json":
            if data is None:
                data = _parse_json(path, _read_text(path))
            wrapper, records = _records_from_json(path, data)
            self._add_dataset(wrapper or Path(path).stem, Path(path).name, path, records, origin="json")
            return
        records = _read_records(path, kind)
        self._add_dataset(Path(path).stem, Path(path).name, path, records, origin=_origin(kind))

    def _add_dataset(self, name: str, source: str, file: str, records: list[dict[str, Any]], *,
                     origin: str, entity: str | None = None, notes: list[str] | None = None,
                     place: str | None = None) -> None:
        if not records:
            raise InputError("dataset has no records", file=file, place=place,
                             fix="add at least one record, or remove the dataset from the input")
        dataset = LoadedDataset(name=unique_name(name, self.names), source=source, file=file, records=records,
                                entity=entity, origin=origin, notes=list(notes or []))
        if dataset.name != name:
            dataset.notes.append(f"renamed from {name!r} because another dataset already has that name")
        log.info("%s: %d records read as dataset %s", file, len(records), dataset.name)
        self.datasets.append(dataset)

    def add_discovery(self, path: str, data: dict[str, Any]) -> None:
        """Validate a discovery document, load its datasets and merge it into the loaded discovery."""
        try:
            document = Discovery.model_validate(data)
        except pydantic.ValidationError as error:
            raise _discovery_error(path, data, error) from None
        base = Path(path).parent
        for index, dataset in enumerate(document.datasets):
            place = f"$.datasets[{index}]"
            default_name = f"dataset_{index + 1}"
            if dataset.records is not None:
                records = _check_records(path, dataset.records, f"{place}.records")
                self._add_dataset(dataset.name or default_name, dataset.source or Path(path).name, path,
                                  records, origin="json", entity=dataset.entity, place=f"{place}.records")
            elif dataset.path is not None:
                self._add_dataset_file(path, base, dataset, place, default_name)
            else:
                raise InputError("dataset has neither 'records' nor 'path'", file=path, place=place,
                                 fix="add inline 'records' or a 'path' to a CSV, JSON or NDJSON file "
                                     "relative to the document")
        _merge_discovery(self.discovery, document)

    def _add_dataset_file(self, path: str, base: Path, dataset: discovery_module.Dataset, place: str,
                          default_name: str) -> None:
        target = str(base / dataset.path) if not Path(dataset.path).is_absolute() else dataset.path
        if not Path(target).is_file():
            raise InputError(f"dataset file {dataset.path!r} not found (looked for {target})", file=path,
                             place=f"{place}.path",
                             fix="give a path relative to the discovery document, or inline the records")
        if dataset.format:
            kind = FORMAT_ALIASES.get(dataset.format.lower(), dataset.format.lower())
        else:
            kind = EXTENSION_FORMATS.get(Path(target).suffix.lower(), "")
        if kind not in RECORD_FORMATS:
            raise InputError(f"dataset file {dataset.path!r} is not a record file", file=path,
                             place=f"{place}.path",
                             fix="point 'path' at a CSV, TSV, JSON or NDJSON file, or set 'format' to one of "
                                 "csv, tsv, json, ndjson")
        self.files.append(target)
        self.dataset_files.add(Path(target).resolve())
        wrapper = None
        if kind == "json":
            wrapper, records = _records_from_json(target, _parse_json(target, _read_text(target)))
        else:
            records = _read_records(target, kind)
        name = dataset.name or wrapper or Path(target).stem or default_name
        self._add_dataset(name, dataset.source or Path(target).name, target, records, origin=_origin(kind),
                          entity=dataset.entity)

    def _add_sql(self, path: str, text: str, dialect: str | None) -> None:
        dump = _parse_sql_dump(path, text, dialect)
        self.discovery.entities.extend(dump.entities())
        for table in dump.tables_with_rows():
            notes = [f"parsed as the {dump.dialect} SQL dialect"]
            self._add_dataset(table.name, Path(path).name, path, table.rows, origin="sql", entity=table.name,
                              notes=notes)


def _origin(kind: str) -> str:
    return "csv" if kind == "tsv" else kind


# --- text and JSON ---------------------------------------------------------------------------------------

# Leading bytes of binary files that users pass by mistake, with what to do instead.
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one)",
     "export the sheet as CSV UTF-8, or unzip the archive and pass the files in it"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip FILE)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office document", "export the sheet as CSV UTF-8"),
)
_SQLITE_SIGNATURE = b"SQLite format 3\x00"
# Tables that D1 and wrangler keep in every database; they are no part of a client's data.
_D1_INTERNAL_TABLES = re.compile(r"_cf_|d1_migrations\Z", re.IGNORECASE)


def _is_sqlite_database(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_SQLITE_SIGNATURE)) == _SQLITE_SIGNATURE
    except OSError:
        return False


def _dump_sqlite_database(path: str) -> str:
    """Return the SQL text of a SQLite database file (as ``.dump`` writes it), opened read-only.

    Tables of D1's own bookkeeping (``_cf_*``, ``d1_migrations``) are left out.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            statements = list(connection.iterdump())
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise InputError(f"cannot read the SQLite database: {error}", file=path,
                         fix="check that the file is a SQLite database and not open for writing elsewhere") from None
    data_statements = []
    for statement in statements:
        match = re.match(r'(?:CREATE TABLE|INSERT INTO)\s+"?([^\s"(]+)', statement)
        if match and _D1_INTERNAL_TABLES.match(match.group(1)):
            continue
        data_statements.append(statement)
    return "\n".join(data_statements)


def _read_text(path: str) -> str:
    """Read a file as text: UTF-8 with or without a byte order mark, or UTF-16 with one."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror}", file=path,
                         fix="check that the file exists and is readable") from None
    for signature, kind, fix in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            raise InputError(f"file is {kind}, not text", file=path, fix=fix)
    if raw.startswith(_SQLITE_SIGNATURE):
        raise InputError("file is a SQLite database, not text", file=path,
                         fix="pass the database file as an input of its own, which reads its tables and rows")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        byte = raw[error.start:error.start + 1].hex()
        raise InputError(f"file is not valid {encoding.upper().replace('-SIG', '')}: byte 0x{byte} cannot be decoded",
                         file=path, place=f"line {line}",
                         fix="re-save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8'; on the command line: "
                             "iconv -f WINDOWS-1252 -t UTF-8)") from None


def _parse_json(path: str, text: str) -> Any:
    if not text.strip():
        raise InputError("file is empty", file=path, fix="add the records, or remove the file from the input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}", file=path,
                         place=f"line {error.lineno}, column {error.colno}",
                         fix="correct the JSON at that position (a missing comma, quote or bracket is the usual "
                             "cause)") from None


def _records_from_json(path: str, data: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Return (dataset name from a wrapper key or None, records) for a parsed JSON record file.

    Three shapes are accepted. An array of objects is the records. One key
    wrapping an object or an array of objects (``{"order": {...}}``,
    ``{"orders": [...]}``) names the dataset in the plural. Any other
    object is one record.
    """
    if isinstance(data, list):
        return None, _check_records(path, data, "$")
    if not isinstance(data, dict):
        raise InputError(f"top-level JSON value is {_json_kind(data)}", file=path, place="$",
                         fix="give an array of record objects, one object, or a discovery document")
    if len(data) == 1:
        key, value = next(iter(data.items()))
        name = pluralize(snake_case(key))
        if isinstance(value, dict):
            return name, [value]
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            return name, _check_records(path, value, f"$.{key}")
    return None, [data]


def _check_records(path: str, records: list[Any], place: str) -> list[dict[str, Any]]:
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"record is {_json_kind(record)}, not an object", file=path,
                             place=f"{place}[{index}]",
                             fix="make every record a JSON object of field names and values")
    return records


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _read_records(path: str, kind: str) -> list[dict[str, Any]]:
    text = _read_text(path)
    if kind == "ndjson":
        return _parse_ndjson(path, text)
    if kind in ("csv", "tsv"):
        return _parse_csv(path, text, "\t" if kind == "tsv" else None)
    _, records = _records_from_json(path, _parse_json(path, text))
    return records


def _parse_ndjson(path: str, text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"invalid JSON: {error.msg}", file=path,
                             place=f"line {number}, column {error.colno}",
                             fix="write one complete JSON object per line") from None
        if not isinstance(record, dict):
            raise InputError(f"line contains {_json_kind(record)}, not an object", file=path, place=f"line {number}",
                             fix="write one JSON object per line")
        records.append(record)
    return records


# --- CSV -------------------------------------------------------------------------------------------------

_SNIFF_DELIMITERS = ",;\t|"
# The csv module rejects fields above 128 KiB by default; D1 stores up to 2,000,000 bytes in one value.
_MAX_FIELD_SIZE = 2_000_000
_EXCEL_SEPARATOR = re.compile(r"sep=(.)\r?\n")
_SNIFF_SAMPLE = 64 * 1024


def _sniff_delimiter(text: str) -> str:
    """Choose the delimiter that splits every row of the sample into the same number of fields.

    Among comma, semicolon, tab and bar, the one giving the most fields (at
    least two) wins, and ``csv.Sniffer``'s guess wins ties. A header line
    without any of them means a one-column file. Otherwise the guess (or a
    comma) is used, so that a ragged row is reported.
    """
    sample = text[:_SNIFF_SAMPLE]
    truncated = len(text) > _SNIFF_SAMPLE
    if truncated and "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        guess = ","

    best, best_count = guess, 1
    for delimiter in [guess, *(item for item in _SNIFF_DELIMITERS if item != guess)]:
        count = _field_count(sample, delimiter, truncated)
        if count > best_count:
            best, best_count = delimiter, count
    if best_count >= 2:
        return best
    header_line = sample.split("\n", 1)[0]
    if not any(delimiter in header_line for delimiter in _SNIFF_DELIMITERS):
        return ","
    return guess


def _field_count(sample: str, delimiter: str, truncated: bool) -> int:
    """Return the field count that every row of ``sample`` has with ``delimiter``.

    Returns 0 when rows differ or the quoting is invalid.
    """
    try:
        rows = [row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=True) if row]
    except csv.Error:
        return 0
    if truncated:
        rows = rows[:-1]
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        return 0
    return len(rows[0])


def _parse_csv(path: str, text: str, delimiter: str | None) -> list[dict[str, Any]]:
    """Parse CSV or TSV text into records of strings; the first row is the header.

    Quoted fields may span lines. A row with more or fewer fields than the
    header is an error, because guessing which value belongs where would
    shift data between columns.
    """
    # Excel writes "sep=;" as the first line to name the delimiter. It is blanked, not removed, to keep line numbers.
    hint = _EXCEL_SEPARATOR.match(text)
    if hint:
        delimiter = delimiter or hint.group(1)
        text = text[hint.end(1):]
    delimiter = delimiter or _sniff_delimiter(text)
    if csv.field_size_limit() < _MAX_FIELD_SIZE:
        csv.field_size_limit(_MAX_FIELD_SIZE)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=False)
    header: list[str] | None = None
    records: list[dict[str, Any]] = []
    row_start = 1
    try:
        for row in reader:
            last_row_start, row_start = row_start, reader.line_num + 1
            # A blank line is no record, but in a one-column file a lone empty field is an empty value.
            if not row or (len(row) == 1 and not row[0].strip() and header is not None and len(header) > 1):
                continue
            if header is None:
                header = _csv_header(path, row)
                continue
            if len(row) != len(header):
                raise InputError(
                    f"row has {len(row)} fields, expected {len(header)} as in the header", file=path,
                    place=f"line {reader.line_num}",
                    fix=f"quote values that contain the delimiter {delimiter!r}, or add or remove fields so "
                        "the row matches the header")
            records.append(dict(zip(header, row)))
    except csv.Error as error:
        raise InputError(f"invalid CSV: {error}", file=path, place=f"line {reader.line_num}",
                         fix="check the quoting on that line: a quote inside a quoted field is written twice") from None
    if records and text.count('"') % 2 and any("\n" in value for value in records[-1].values()):
        # The reader is lenient with stray quotes, so an opening quote that is never closed swallows the rest
        # of the file into one value; an odd number of quotes and a multi-line last value give it away.
        raise InputError("a quoted field is never closed, so the rest of the file would be read as one value",
                         file=path, place=f"line {last_row_start}",
                         fix='close the quote, or write a quote inside a quoted field as ""')
    if header is None:
        raise InputError("file is empty", file=path, fix="add a header row and at least one record")
    if not records:
        raise InputError("CSV file has a header but no records", file=path, place="line 2",
                         fix="add at least one record below the header, or remove the file from the input")
    return records


def _csv_header(path: str, row: list[str]) -> list[str]:
    """Clean the header: strip spaces, name blank columns ``column_N``, suffix repeats ``_2``, ``_3``."""
    used_names: set[str] = set()
    header = []
    for index, cell in enumerate(row, start=1):
        name = cell.strip() or f"column_{index}"
        if name in used_names:
            log.warning("%s: header repeats column %r; the repeat is read as %r", path, name,
                        unique_name(name, set(used_names)))
        header.append(unique_name(name, used_names))
    return header


# --- discovery documents ---------------------------------------------------------------------------------

# Canonical keys of the discovery document and the synonyms a user may have written instead.
_SYNONYMS = {
    "entities": discovery_module._ENTITY_SYNONYMS,
    "fields": discovery_module._FIELD_SYNONYMS,
    "datasets": discovery_module._DATASET_SYNONYMS,
    "filter": ("filters", "filter_columns", "where"),
    "sort": ("order_by", "sort_columns"),
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _discovery_error(path: str, data: Any, error: pydantic.ValidationError) -> InputError:
    first = error.errors()[0]
    place = _json_path(first["loc"], data)
    more = error.error_count() - 1
    message = f"invalid discovery document: {first['msg']}"
    if more:
        message += f" (and {more} more {'error' if more == 1 else 'errors'})"
    if first["type"] == "missing":
        fix = f"add {place}, or remove the object that lacks it"
    else:
        fix = f"correct the value at {place}"
    return InputError(message, file=path, place=place, fix=fix)


def _json_path(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic error location into a JSON path into the document as the user wrote it.

    Synonyms the validator folded (``tables`` for ``entities``) and
    ``{"name": {...}}`` maps it turned into lists are mapped back.
    Union labels in the location (``list[any]``) are skipped.
    """
    path = "$"
    node = data
    for part in loc:
        if isinstance(part, int):
            if isinstance(node, list):
                path += f"[{part}]"
                node = node[part] if part < len(node) else None
            elif isinstance(node, dict):
                keys = list(node)
                key = keys[part] if part < len(keys) else str(part)
                path += _path_key(key)
                node = node.get(key)
            continue
        if not isinstance(node, dict):
            continue
        key = part
        if key not in node:
            key = next((synonym for synonym in _SYNONYMS.get(part, ()) if synonym in node), part)
        path += _path_key(key)
        node = node.get(key)
    return path


def _path_key(key: str) -> str:
    return f".{key}" if _IDENTIFIER.match(key) else f"[{json.dumps(key)}]"


def _merge_discovery(target: Discovery, document: Discovery) -> None:
    """Merge ``document`` into ``target``: lists are joined, single values are taken where ``target`` has none."""
    target.format = target.format or document.format
    for name, value in document.client:
        if getattr(target.client, name, None) is None and value is not None:
            setattr(target.client, name, value)
    if target.tenancy == type(target.tenancy)():
        target.tenancy = document.tenancy
    target.entities.extend(document.entities)
    target.datasets.extend(document.datasets)
    target.query_patterns.extend(document.query_patterns)
    target.initiatives.extend(document.initiatives)
    if isinstance(target.resources, list) and isinstance(document.resources, list):
        target.resources.extend(document.resources)
    elif not target.resources:
        target.resources = document.resources
    for key, value in (document.model_extra or {}).items():
        target.model_extra.setdefault(key, value)


# --- SQL dumps -------------------------------------------------------------------------------------------

@dataclass
class _SqlTable:
    """One table of a SQL dump: declared columns and constraints, and the rows of its INSERT statements."""

    name: str
    columns: dict[str, DeclaredField] = field(default_factory=dict)
    declared: bool = False
    primary_key: list[str] = field(default_factory=list)
    relationships: list[DeclaredRelationship] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    array_columns: set[str] = field(default_factory=set)


@dataclass
class _SqlDump:
    dialect: str
    tables: dict[str, _SqlTable] = field(default_factory=dict)
    enum_types: dict[str, list[str]] = field(default_factory=dict)

    def table(self, name: str) -> _SqlTable:
        key = name.lower()
        if key not in self.tables:
            self.tables[key] = _SqlTable(name=name)
        return self.tables[key]

    def entities(self) -> list[DeclaredEntity]:
        return [
            DeclaredEntity(name=table.name, fields=list(table.columns.values()),
                           relationships=table.relationships, key=table.primary_key or None)
            for table in self.tables.values() if table.declared
        ]

    def tables_with_rows(self) -> list[_SqlTable]:
        return [table for table in self.tables.values() if table.rows]


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's warning that it parsed an unsupported statement as a command: those are skipped anyway."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parse_sql_dump(path: str, text: str, dialect: str | None) -> _SqlDump:
    """Parse a SQL dump with ``dialect``, or with the first dialect in SQL_DIALECTS that parses it all."""
    text, copied = _extract_copy_blocks(path, text)
    text = _BATCH_SEPARATOR.sub(";", text)
    text = _REPLACE_INTO.sub(r"\1INSERT\2", text)
    candidates = [dialect] if dialect else _dialect_order(text)
    failures: list[tuple[tuple[int, int], str, str]] = []
    for name in candidates:
        try:
            with _quiet_sqlglot():
                statements = Dialect.get_or_raise(name).parse(text)
        except (ParseError, TokenError) as error:
            failures.append((_error_position(error), name, _first_line(error)))
            continue
        dump = _SqlDump(dialect=name)
        for number, statement in enumerate(statements, start=1):
            _apply_statement(path, dump, statement, number)
        for table_name, columns, rows, line in copied:
            _add_rows(path, dump, table_name, columns, rows, f"COPY block at line {line}")
        return dump

    # Report the dialect that read furthest: its error is the likeliest real mistake.
    (line, column), name, message = max(failures, key=lambda failure: failure[0])
    number = _statement_number(text, name, line, column)
    tried = name if dialect else f"{name} (the dialect that read furthest of {', '.join(candidates)})"
    raise InputError(f"SQL could not be parsed as {tried}: {message}", file=path,
                     place=f"statement {number} (line {line}, column {column})",
                     fix="correct that statement, or pass --format with the dump's dialect "
                         "(postgres, mysql, tsql, sqlite...)")


# Marks that a dump tool leaves in its output, used to try that tool's dialect first.
_DIALECT_MARKS = (
    ("postgres", re.compile(r"PostgreSQL database dump|pg_catalog\.|::regclass|\bFROM stdin\b", re.IGNORECASE)),
    ("mysql", re.compile(r"MySQL dump|MariaDB dump|\bENGINE\s*=|/\*!\d{5}|\bLOCK TABLES\b", re.IGNORECASE)),
    ("tsql", re.compile(r"^\s*GO\s*$|\[dbo\]\.|\bIDENTITY\s*\(", re.IGNORECASE | re.MULTILINE)),
)


def _dialect_order(text: str) -> list[str]:
    """Return SQL_DIALECTS with the dialect whose dump tool left its marks in ``text`` moved to the front."""
    head = text[:200_000]
    marked = [name for name, pattern in _DIALECT_MARKS if pattern.search(head)]
    return marked + [name for name in SQL_DIALECTS if name not in marked]


def _error_position(error: ParseError | TokenError) -> tuple[int, int]:
    details = getattr(error, "errors", None) or [{}]
    line = details[0].get("line") or 0
    column = details[0].get("col") or 0
    if not line:
        match = re.search(r"[Ll]ine (\d+)(?:, [Cc]ol(?:umn)?:? (\d+))?", str(error))
        if match:
            line, column = int(match.group(1)), int(match.group(2) or 0)
    return line, column


def _first_line(error: Exception) -> str:
    details = getattr(error, "errors", None)
    if details and details[0].get("description"):
        return details[0]["description"]
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _statement_number(text: str, dialect: str, line: int, column: int) -> int:
    """Return the 1-based number of the statement that contains (line, column): semicolons before it, plus one."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError:
        return text[:_offset(text, line, column)].count(";") + 1
    return 1 + sum(
        1 for token in tokens
        if token.token_type == TokenType.SEMICOLON and (token.line, token.col) < (line, column))


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(item) + 1 for item in lines[:max(line - 1, 0)]) + max(column - 1, 0)


# SQL Server's batch separator: a line holding only GO ends the statement before it.
_BATCH_SEPARATOR = re.compile(r"^[ \t]*GO[ \t]*;?[ \t]*$", re.IGNORECASE | re.MULTILINE)
# MySQL's REPLACE INTO inserts rows like INSERT INTO; sqlglot reads it only as an opaque command.
_REPLACE_INTO = re.compile(r"^(\s*)REPLACE(\s+INTO\b)", re.IGNORECASE | re.MULTILINE)
_COPY_START = re.compile(r"^COPY\s+(?P<table>\S+)\s*\((?P<columns>[^)]*)\)\s+FROM\s+stdin\s*;\s*$", re.IGNORECASE)
_COPY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}


def _extract_copy_blocks(path: str, text: str) -> tuple[str, list[tuple[str, list[str], list[list[Any]], int]]]:
    """Cut pg_dump's ``COPY ... FROM stdin`` blocks out of ``text`` and return their rows.

    Each block's lines are replaced by blank lines and its statement by a
    lone ``;``, so line and statement numbers in later errors stay right.
    Values follow PostgreSQL's text format: tab-separated, ``\\N`` for NULL,
    backslash escapes.
    """
    lines = text.split("\n")
    blocks = []
    index = 0
    while index < len(lines):
        match = _COPY_START.match(lines[index].strip())
        if not match:
            index += 1
            continue
        start = index
        columns = [_unquote_identifier(column) for column in match.group("columns").split(",")]
        rows = []
        lines[index] = ";"
        index += 1
        while index < len(lines) and lines[index].rstrip("\r") != "\\.":
            cells = lines[index].rstrip("\r").split("\t")
            if len(cells) != len(columns):
                raise InputError(f"COPY row has {len(cells)} fields, expected {len(columns)}", file=path,
                                 place=f"line {index + 1}", fix="separate the values with tabs, one per column")
            rows.append([None if cell == "\\N" else _unescape_copy(cell) for cell in cells])
            lines[index] = ""
            index += 1
        if index == len(lines):
            raise InputError("COPY block has no terminating '\\.' line", file=path, place=f"line {start + 1}",
                             fix="end the COPY data with a line holding only \\.")
        lines[index] = ""
        blocks.append((_unquote_identifier(match.group("table")), columns, rows, start + 1))
    return "\n".join(lines), blocks


def _unescape_copy(cell: str) -> str:
    return re.sub(r"\\(.)", lambda match: _COPY_ESCAPES.get(match.group(1), match.group(1)), cell)


def _unquote_identifier(name: str) -> str:
    name = name.strip().rsplit(".", 1)[-1].strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"`":
        return name[1:-1]
    return name


def _apply_statement(path: str, dump: _SqlDump, statement: exp.Expression | None, number: int) -> None:
    """Apply a CREATE TABLE, CREATE UNIQUE INDEX, ALTER TABLE or INSERT statement to ``dump``.

    Other statements (transaction control, PRAGMA, SET, sequences, views) are skipped.
    """
    kind = (statement.args.get("kind") or "").upper() if isinstance(statement, (exp.Create, exp.Alter)) else ""
    if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema) and kind == "TABLE":
        _apply_create_table(dump, statement)
    elif isinstance(statement, exp.Create) and kind == "TYPE":
        enum = statement.expression
        if isinstance(enum, exp.DataType) and enum.this == exp.DataType.Type.ENUM:
            dump.enum_types[statement.this.name.lower()] = [value.name for value in enum.expressions]
    elif isinstance(statement, exp.Create) and kind == "INDEX":
        _apply_create_index(dump, statement)
    elif isinstance(statement, exp.Alter) and kind == "TABLE":
        table = dump.table(statement.this.name)
        for action in statement.args.get("actions") or []:
            for constraint in action.find_all(exp.PrimaryKey, exp.ForeignKey, exp.UniqueColumnConstraint):
                _apply_table_constraint(table, constraint)
    elif isinstance(statement, exp.Insert):
        _apply_insert(path, dump, statement, number)


def _apply_create_table(dump: _SqlDump, statement: exp.Create) -> None:
    schema = statement.this
    table = dump.table(schema.this.name)
    table.declared = True
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            _apply_column(dump, table, item)
        elif isinstance(item, exp.Identifier):
            # SQLite allows a column without a type: CREATE TABLE t(a, b).
            table.columns[item.name] = DeclaredField(name=item.name)
    for item in schema.expressions:
        if isinstance(item, (exp.ColumnDef, exp.Identifier)):
            continue
        for constraint in item.find_all(exp.PrimaryKey, exp.ForeignKey, exp.UniqueColumnConstraint):
            _apply_table_constraint(table, constraint)


def _apply_column(dump: _SqlDump, table: _SqlTable, column: exp.ColumnDef) -> None:
    name = column.name
    kind = column.args.get("kind")
    declared = DeclaredField(name=name, type=sql_logical_type(kind) if kind is not None else None)
    if kind is not None and kind.this == exp.DataType.Type.ENUM:
        declared.examples = [value.name for value in kind.expressions]
    elif kind is not None and kind.this == exp.DataType.Type.USERDEFINED:
        # sqlglot gives a user-defined type's name as an expression or, for some dialects, a plain string.
        type_name = kind.args.get("kind")
        type_text = type_name if isinstance(type_name, str) else getattr(type_name, "name", None)
        enum_values = dump.enum_types.get(type_text.lower()) if type_text else None
        if enum_values is not None:
            declared.type = "enum"
            declared.examples = list(enum_values)
    elif kind is not None and kind.this == exp.DataType.Type.ARRAY and not any(
            isinstance(item, exp.DataType) and item.this == exp.DataType.Type.ARRAY for item in kind.expressions):
        table.array_columns.add(name)
    table.columns[name] = declared
    for constraint in column.args.get("constraints") or []:
        kind_of_constraint = constraint.args.get("kind")
        not_null = isinstance(kind_of_constraint, exp.NotNullColumnConstraint)
        if not_null and not kind_of_constraint.args.get("allow_null"):
            declared.required = True
        elif isinstance(kind_of_constraint, exp.PrimaryKeyColumnConstraint):
            declared.required = True
            declared.unique = True
            table.primary_key = [name]
        elif isinstance(kind_of_constraint, exp.UniqueColumnConstraint):
            declared.unique = True
        elif isinstance(kind_of_constraint, exp.Reference):
            _add_reference(table, [name], kind_of_constraint)


def _apply_table_constraint(table: _SqlTable, constraint: exp.Expression) -> None:
    columns = _column_names(constraint)
    if isinstance(constraint, exp.PrimaryKey):
        table.primary_key = columns
        for name in columns:
            if name in table.columns:
                table.columns[name].required = True
        if len(columns) == 1 and columns[0] in table.columns:
            table.columns[columns[0]].unique = True
    elif isinstance(constraint, exp.UniqueColumnConstraint):
        if len(columns) == 1 and columns[0] in table.columns:
            table.columns[columns[0]].unique = True
    elif isinstance(constraint, exp.ForeignKey):
        reference = constraint.args.get("reference")
        if reference is not None:
            _add_reference(table, columns, reference)


def _column_names(constraint: exp.Expression) -> list[str]:
    if isinstance(constraint, exp.UniqueColumnConstraint):
        schema = constraint.this
        items = schema.expressions if isinstance(schema, exp.Schema) else []
    else:
        items = constraint.expressions
    return [item.name for item in items]


def _add_reference(table: _SqlTable, columns: list[str], reference: exp.Reference) -> None:
    target = reference.this
    target_name = target.this.name if isinstance(target, exp.Schema) else target.name
    target_columns = [item.name for item in target.expressions] if isinstance(target, exp.Schema) else []
    on_delete = None
    for option in reference.args.get("options") or []:
        text = option if isinstance(option, str) else option.sql()
        match = re.match(r"ON\s+DELETE\s+(.+)", text.strip(), re.IGNORECASE)
        if match:
            on_delete = match.group(1).upper()
    fields = [table.columns.get(name) for name in columns]
    required = bool(fields) and all(item is not None and item.required for item in fields)
    unique = len(columns) == 1 and fields[0] is not None and fields[0].unique
    label = f"{', '.join(columns)} -> {target_name}({', '.join(target_columns)})" if target_columns else ""
    table.relationships.append(DeclaredRelationship(
        target=target_name, cardinality="1:1" if unique else "N:1", optional=not required,
        field=columns[0] if len(columns) == 1 else None, label=label, on_delete=on_delete))


def _apply_create_index(dump: _SqlDump, statement: exp.Create) -> None:
    index = statement.this
    if not statement.args.get("unique") or not isinstance(index, exp.Index):
        return
    table_expression = index.args.get("table")
    params = index.args.get("params")
    columns = [ordered.this for ordered in (params.args.get("columns") or [])] if params else []
    if table_expression is None or len(columns) != 1 or not isinstance(columns[0], exp.Column):
        return
    table = dump.table(table_expression.name)
    if columns[0].name in table.columns:
        table.columns[columns[0].name].unique = True


def _apply_insert(path: str, dump: _SqlDump, statement: exp.Insert, number: int) -> None:
    target = statement.this
    if isinstance(target, exp.Schema):
        table_name = target.this.name
        columns = [item.name for item in target.expressions]
    else:
        table_name = target.name
        columns = []
    if table_name.lower().startswith("sqlite_"):
        # SQLite's .dump fills its own sqlite_sequence table; that is bookkeeping, not data.
        return
    values = statement.expression
    if not isinstance(values, exp.Values):
        log.info("%s: statement %d inserts from a query; its rows are not read", path, number)
        return
    rows = [[_literal_value(item) for item in row.expressions] for row in values.expressions]
    _add_rows(path, dump, table_name, columns, rows, f"statement {number}")


def _add_rows(path: str, dump: _SqlDump, table_name: str, columns: list[str], rows: list[list[Any]],
              place: str) -> None:
    table = dump.table(table_name)
    columns = columns or list(table.columns)
    if not columns:
        raise InputError(f"INSERT into {table_name!r} names no columns, and the file does not create that table",
                         file=path, place=place,
                         fix=f"add the CREATE TABLE statement for {table_name!r} or list the columns in the INSERT")
    for row in rows:
        if len(row) != len(columns):
            raise InputError(f"row has {len(row)} values for {len(columns)} columns of {table_name!r}",
                             file=path, place=place, fix="give one value per column")
        record = dict(zip(columns, row))
        for name in table.array_columns.intersection(record):
            if isinstance(record[name], str):
                parsed = _parse_array_text(record[name])
                record[name] = record[name] if parsed is None else parsed
        table.rows.append(record)


def _parse_array_text(text: str) -> list[str | None] | None:
    """Parse a one-dimensional PostgreSQL array in text form (``{a,"b c",NULL}``); None when it is not one.

    Elements stay strings (the profiler types them), and ``NULL`` becomes None.
    """
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body = text[1:-1]
    items: list[str | None] = []
    position = 0
    while body:
        if body[position:position + 1] == '"':
            end = position + 1
            characters = []
            while end < len(body) and body[end] != '"':
                if body[end] == "\\" and end + 1 < len(body):
                    end += 1
                characters.append(body[end])
                end += 1
            if end >= len(body):
                return None
            items.append("".join(characters))
            end += 1
        else:
            end = body.find(",", position)
            end = len(body) if end == -1 else end
            element = body[position:end].strip()
            if element.startswith("{") or '"' in element:
                return None
            items.append(None if element.upper() == "NULL" else element)
        if end >= len(body):
            break
        if body[end] != ",":
            return None
        position = end + 1
    return items


def _literal_value(node: exp.Expression) -> Any:
    """Return the Python value of a SQL literal; other expressions come back as their SQL text."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, (exp.National, exp.RawString, exp.ByteString)):
        return node.this
    if isinstance(node, exp.HexString):
        digits = node.this if len(node.this) % 2 == 0 else "0" + node.this
        return bytes.fromhex(digits)
    if isinstance(node, exp.Introducer):
        text = _literal_value(node.expression)
        binary = node.this.name.lower() == "_binary" if isinstance(node.this, exp.Expression) else str(
            node.this).lower() == "_binary"
        return text.encode("utf-8") if binary and isinstance(text, str) else text
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        return _number(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_number(node.this.this)
    if isinstance(node, exp.Cast):
        return _literal_value(node.this)
    if isinstance(node, exp.Array):
        return [_literal_value(item) for item in node.expressions]
    if isinstance(node, exp.Paren):
        return _literal_value(node.this)
    return node.sql(unsupported_level=ErrorLevel.IGNORE)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_TYPE = exp.DataType.Type
_LOGICAL_BY_SQL_TYPE: dict[Any, str] = {
    **{kind: "integer" for kind in exp.DataType.INTEGER_TYPES},
    **{kind: "real" for kind in exp.DataType.FLOAT_TYPES},
    **{kind: "decimal" for kind in exp.DataType.REAL_TYPES - exp.DataType.FLOAT_TYPES},
    **{kind: "text" for kind in exp.DataType.TEXT_TYPES},
    **{kind: "blob" for kind in exp.DataType.BINARY_TYPES},
    **{kind: "json" for kind in exp.DataType.NESTED_TYPES},
    _TYPE.MONEY: "money",
    _TYPE.SMALLMONEY: "money",
    _TYPE.UDOUBLE: "real",
    _TYPE.BOOLEAN: "boolean",
    _TYPE.BIT: "boolean",
    _TYPE.DATE: "date",
    _TYPE.DATE32: "date",
    _TYPE.UUID: "uuid",
    _TYPE.JSON: "json",
    _TYPE.JSONB: "json",
    _TYPE.ENUM: "enum",
    _TYPE.SERIAL: "integer",
    _TYPE.BIGSERIAL: "integer",
    _TYPE.SMALLSERIAL: "integer",
}


def sql_logical_type(data_type: exp.DataType) -> str:
    """Map a SQL column type to a logical type name (integer, real, decimal, money, text, date...).

    ``TINYINT(1)`` is MySQL's boolean. Timestamps map to ``datetime``;
    ``TIME`` and types without a closer match map to ``text``.
    """
    kind = data_type.this
    params = [param.name for param in data_type.expressions]
    if kind == _TYPE.TINYINT and params == ["1"]:
        return "boolean"
    # NUMERIC(10) and NUMERIC(10, 0) hold whole numbers; Oracle writes integer columns as NUMBER(10).
    if kind in (_TYPE.DECIMAL, _TYPE.BIGDECIMAL) and (len(params) == 1 or params[1:] == ["0"]):
        return "integer"
    if kind in exp.DataType.TEMPORAL_TYPES and kind not in (_TYPE.DATE, _TYPE.DATE32, _TYPE.TIME, _TYPE.TIMETZ):
        return "datetime"
    return _LOGICAL_BY_SQL_TYPE.get(kind, "text")
