"""An index for the quick search over ``TrainingJobConfig.search_text`` (see ``configs_app.search``).

* SQLite: an external-content FTS5 table with the trigram tokenizer and the three triggers that
  keep it in step with the configs table (the sync engine's bulk writes send no signals), filled
  from the rows already there.
* PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index.

Neither is required for search to be correct, only fast: where it cannot be built (SQLite without
FTS5 or the trigram tokenizer, a PostgreSQL role that may not create extensions) the migration says
so and succeeds, and searches scan the table. Other databases get nothing.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger("configs_app.migrations")

TABLE = "configs_app_trainingjobconfig"
FTS = "configs_app_trainingjobconfig_fts"
TRGM_INDEX = "cfg_search_trgm_idx"

SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
    f"search_text, content='{TABLE}', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    # Only when search_text is written: the sync's other updates (deleted_upstream_at, timestamps)
    # leave the index alone.
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF search_text ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    # Index the rows already there (and repair an index that drifted).
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]


def install_sqlite_fts(schema_editor) -> None:
    """Create (or re-create after a table rebuild) the FTS5 table and its triggers, and fill it."""
    connection = schema_editor.connection
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(SQLITE_FTS[0])
    except DatabaseError as exc:
        logger.warning(
            "Quick search index not created: this SQLite (%s) has no FTS5 trigram tokenizer (SQLite 3.34 "
            "or newer with FTS5 is needed): %s. Search still works but reads every config. Upgrade "
            "SQLite, then run `manage.py migrate configs_app 0003` and `manage.py migrate`.",
            connection.Database.sqlite_version,
            exc,
        )
        return
    with connection.cursor() as cursor:
        for statement in SQLITE_FTS[1:]:
            cursor.execute(statement)


def install_postgresql_trgm(schema_editor) -> None:
    """Create pg_trgm (when allowed) and the GIN trigram index on search_text."""
    connection = schema_editor.connection
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning(
            "Quick search index not created: the extension pg_trgm could not be created (%s). Search "
            "still works but reads every config. Have a superuser run `CREATE EXTENSION pg_trgm;` in "
            "this database, then run `manage.py migrate configs_app 0003` and `manage.py migrate`.",
            str(exc).strip().splitlines()[0],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON {TABLE} USING gin (search_text gin_trgm_ops)")


def forwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        install_sqlite_fts(schema_editor)
    elif vendor == "postgresql":
        install_postgresql_trgm(schema_editor)


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)
        elif vendor == "postgresql":
            # The extension stays: other things in the database may use it.
            cursor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("configs_app", "0003_config_viewers_group")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
