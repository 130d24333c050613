"""Quick search over the cached configs: substring matching that an index can answer.

What a search means (``selectors.config_search``): every whitespace-separated term of ``q``,
lower-cased, is a substring of the config's ``search_text`` (name, description, engine, image,
command, OBS paths, parameter labels and non-secret values, lower-cased by ``records``). The
result is the same on every database; only how the candidates are found differs:

* **SQLite**: an FTS5 table with the ``trigram`` tokenizer (SQLite 3.34+) over ``search_text``,
  ``configs_app_trainingjobconfig_fts``, an *external-content* table: it stores only the index
  and reads the text from the configs table. It is kept in step by three triggers created in
  migration 0004 (insert, delete, update of ``search_text``), because the sync engine writes with
  ``bulk_create``/``bulk_update``/``update()``, which send no Django signals. A trigram ``MATCH``
  finds the rows containing a term's trigrams through the index, without reading the table.
* **PostgreSQL**: a ``pg_trgm`` GIN index on ``search_text`` (migration 0004), which the planner
  uses for ``search_text LIKE '%term%'``.

A trigram index cannot look up a term shorter than three characters; such terms are checked on
the rows the longer terms found, or, when every term is that short, by reading the rows in page
order until the page is full (short terms match most configs, so that stops early) and once more
to count them (the count is cached per data version, see ``selectors.config_count``). Terms
longer than ``INDEXED_CHARS`` are looked up by their first ``INDEXED_CHARS`` characters and then
checked in full, which bounds the index work a pasted 10,000-character string can cause.

The index only ever narrows the candidates: each term is always checked with the same plain
``LIKE '%term%'`` on the lower-cased text as before the index existed, so case folding or
tokenizer details can never change a result. Without the index (SQLite without FTS5 or trigram,
a PostgreSQL role that may not create ``pg_trgm``) that check alone runs: slower, same results.

Caution for later migrations on SQLite: Django rebuilds a table to alter it (create a copy, drop
the old one, rename), and the drop takes the three triggers with it. A migration that alters
``TrainingJobConfig`` must create them again (call ``install_sqlite_fts`` from 0004's module);
``tests/integration/test_search_index.py`` fails when they are missing.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

#: The FTS5 table of migration 0004 (SQLite only).
FTS_TABLE = "configs_app_trainingjobconfig_fts"
#: A trigram index can look up terms of at least this many characters.
MIN_INDEXED_CHARS = 3
#: Longer terms are looked up in the index by this many leading characters, then checked in full.
INDEXED_CHARS = 64
#: At most this many search terms are used (each adds one condition to the query).
MAX_SEARCH_TERMS = 10

_fts_present: dict[tuple[str, str], bool] = {}


def search_terms(q: str | None) -> list[str]:
    """The terms of a quick search: lower-cased, split on whitespace, at most ``MAX_SEARCH_TERMS``.

    NUL characters are dropped: no stored text contains one (PostgreSQL text cannot), and
    PostgreSQL rejects them in parameters.
    """
    return (q or "").replace("\x00", "").lower().split()[:MAX_SEARCH_TERMS]


def fts_query(terms: list[str]) -> str:
    """An FTS5 query matching rows that contain every term: each term one quoted string (so no
    character of it is FTS5 syntax: ``*``, ``-``, ``NEAR``, parentheses, quotes are literal),
    joined by AND."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def sqlite_fts_available(alias: str = "default") -> bool:
    """Whether the FTS5 table exists in this SQLite database (looked up once per database)."""
    connection = connections[alias]
    key = (alias, str(connection.settings_dict.get("NAME")))
    if key not in _fts_present:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
            _fts_present[key] = cursor.fetchone() is not None
    return _fts_present[key]


def forget_fts_state() -> None:
    """Look the FTS5 table up again on the next search (after migrating a database back and forth)."""
    _fts_present.clear()


def filter_by_terms(queryset: QuerySet, terms: list[str]) -> QuerySet:
    """``queryset`` narrowed to the rows whose ``search_text`` contains every term (see module)."""
    if not terms:
        return queryset
    vendor = connections[queryset.db].vendor
    lookups = [term[:INDEXED_CHARS] for term in terms if len(term) >= MIN_INDEXED_CHARS]
    if vendor == "sqlite" and lookups and sqlite_fts_available(queryset.db):
        queryset = queryset.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [fts_query(lookups)])
        )
    for term in terms:
        if len(term) > INDEXED_CHARS:
            # The index looks up the prefix (a LIKE the trigram index serves on PostgreSQL, the
            # MATCH above on SQLite); the full term is compared without an index.
            queryset = queryset.filter(search_text__contains=term[:INDEXED_CHARS])
            queryset = queryset.filter(GreaterThan(StrIndex("search_text", Value(term)), 0))
        else:
            # search_text is stored lower-cased, so a plain (case-sensitive) LIKE is exact on
            # every database, and on PostgreSQL it is what the trigram index serves.
            queryset = queryset.filter(search_text__contains=term)
    return queryset
