"""Opening the database: SQLite in the user data dir by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text

from connhub.storage.private import create_private_file, make_private_dir

# The newest migration; `upgrade` skips Alembic (and its import) when the database is already there. Defined
# beside the quick reader of the first paint, which checks it too.
from connhub.storage.quick import SCHEMA_HEAD

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x636F6E6E687562  # "connhub": PostgreSQL advisory lock held while migrating


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'connhub.db'}"


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _create_private_database(url)
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # A catalog server that is down is said within seconds, not the OS's TCP timeout (minutes).
        engine = create_engine(url, pool_pre_ping=True,
                               connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})
        event.listen(engine, "handle_error", _server_gone)
    upgrade(engine)
    return engine


def _server_gone(context) -> None:
    """A server that cannot be reached is the domain's CatalogUnavailable (the window shows it, the CLI words
    it); pool_pre_ping's own check is left alone, so it can replace a dead connection when the server is back."""
    from sqlalchemy.exc import OperationalError

    from connhub.core.records import CatalogUnavailable

    if context.is_pre_ping or not isinstance(context.sqlalchemy_exception, OperationalError):
        return
    first = (str(context.original_exception).strip().splitlines() or ["no answer"])[0][:300]
    url = context.engine.url if context.engine is not None else None
    where = url.render_as_string(hide_password=True) if url is not None else "the catalog database"
    raise CatalogUnavailable(f"The catalog database {where} does not answer ({first}); nothing was changed. "
                             "Try again when it is back.") from None


def _create_private_database(url: str) -> None:
    """A new SQLite file is created 0600 before SQLite opens it, in a 0700 folder: SQLite gives the -wal and
    -shm files the database file's mode, so all three stay the owner's. An existing file keeps its mode."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri") or parsed.query.get("mode") == "memory":
        return
    path = Path(database).expanduser()
    make_private_dir(path.parent)
    create_private_file(path)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer (GUI and CLI at once)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; an old database keeps all its rows."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename): with foreign keys on, the drop would
            # cascade to the rows that reference it (an instance's test history). Only settable outside a
            # transaction, and set back before the connection returns to the pool.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                # Two processes may open a new database at once (the window and a script, parallel CI jobs):
                # the first takes a lock and migrates, the others wait for it and then find the schema current.
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")  # also makes the migration all-or-nothing
                elif conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                if _revision(conn) != SCHEMA_HEAD:
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
