"""Naming conventions: snake_case names, plural tables, identifier quoting."""

from __future__ import annotations

import functools
import re
import unicodedata

# The keywords of SQLite 3.40 (https://sqlite.org/lang_keywords.html).
# An identifier equal to one of them, in any case, is quoted.
SQLITE_KEYWORDS = frozenset("""
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT
BEFORE BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT
CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP
DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH
ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST
FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE
IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS
ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING
NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN
PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX
RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT
SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED
UNION UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
""".split())

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


def quote_identifier(name: str) -> str:
    """Return ``name`` ready for SQL: bare when safe, else in double quotes.

    A name is left bare only when it is lowercase ASCII letters, digits and
    underscores, does not start with a digit and is not a SQLite keyword.
    """
    if _PLAIN_IDENTIFIER.match(name) and name.upper() not in SQLITE_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """Return ``value`` as a SQL string literal; only ``'`` needs doubling."""
    return "'" + value.replace("'", "''") + "'"


@functools.lru_cache(maxsize=65536)
def snake_case(text: str) -> str:
    """Turn a source label (``Deal Stage``, ``closeDate``, ``E-mail #2``) into snake_case.

    Letters outside ASCII are kept (a column may be called ``größe``), accents
    are not stripped, and the result is never empty.
    """
    text = unicodedata.normalize("NFC", str(text)).strip()
    # Plural acronyms stay one word: "Contact IDs" -> contact_ids, not contact_i_ds.
    text = re.sub(r"([A-Z]{2,})s\b", lambda match: match.group(1).capitalize() + "s", text)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    text = text.replace("#", " number ").replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"[^\w]+", "_", text.lower(), flags=re.UNICODE)
    text = re.sub(r"_+", "_", text).strip("_")
    if not text:
        text = "column"
    if text[0].isdigit():
        text = "c_" + text
    return text


_IRREGULAR_PLURALS = {
    "person": "people", "child": "children", "man": "men", "woman": "women",
    "index": "indexes", "status": "statuses", "address": "addresses", "data": "data",
    "info": "info", "staff": "staff", "series": "series", "news": "news",
    "criterion": "criteria", "analysis": "analyses", "metadata": "metadata",
}
_IRREGULAR_SINGULARS = {plural: singular for singular, plural in _IRREGULAR_PLURALS.items()}


def pluralize(name: str) -> str:
    """Return the plural of the last word of a snake_case name (``line_item`` -> ``line_items``)."""
    head, _, word = name.rpartition("_")
    prefix = head + "_" if head else ""
    if word in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[word]
    if word in _IRREGULAR_SINGULARS or (word.endswith("s") and not word.endswith(("ss", "us", "is"))):
        return name
    if re.search(r"[^aeiou]y\Z", word):
        return prefix + word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return prefix + word + "es"
    return prefix + word + "s"


def singularize(name: str) -> str:
    """Return the singular of the last word of a snake_case name (``companies`` -> ``company``)."""
    head, _, word = name.rpartition("_")
    prefix = head + "_" if head else ""
    if word in _IRREGULAR_SINGULARS:
        return prefix + _IRREGULAR_SINGULARS[word]
    if word in _IRREGULAR_PLURALS:
        return name
    if word.endswith("ies") and len(word) > 3:
        return prefix + word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return prefix + word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return prefix + word[:-1]
    return name


def table_name(label: str) -> str:
    """Return the conventional table name for an entity label: snake_case plural."""
    return pluralize(snake_case(label))


def foreign_key_column(table: str) -> str:
    """Return the foreign-key column that references ``table``: ``<singular>_id``."""
    return singularize(table) + "_id"


def index_name(table: str, columns: list[str], unique: bool = False) -> str:
    """Return ``idx_<table>__<columns>`` or ``uq_<table>__<columns>``."""
    prefix = "uq" if unique else "idx"
    return f"{prefix}_{table}__{'_'.join(columns)}"


def unique_name(name: str, taken: set[str]) -> str:
    """Return ``name``, or ``name_2``, ``name_3``... whichever is not in ``taken``; add it to ``taken``."""
    candidate = name
    number = 2
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    taken.add(candidate)
    return candidate
