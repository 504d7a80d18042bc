"""The data folder is 0700 and connhub's files in it 0600 (database, -wal, -shm, log and its rotations, types
cache), with the usual permissive umask; a folder an older version left open is tightened once, with a notice.
Real files, real SQLite, modes read back with os.stat."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from connhub.plugins.catalog import write_listing
from connhub.plugins.registry import Registry
from connhub.services.logs import setup_logging
from connhub.storage.db import open_engine, sqlite_url
from connhub.storage.private import create_private_file, make_private_dir, open_private, tighten_data_dir

BUILTIN = Path(__file__).resolve().parents[2] / "src" / "connhub" / "integrations"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """What most desktops run with: files 0644 and folders 0755 unless a mode is set."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_database_and_its_wal_and_shm_are_the_owners_only(tmp_path):
    data = tmp_path / "new" / "connhub"
    engine = open_engine(sqlite_url(data))
    try:
        with engine.begin() as conn:  # a write in WAL mode: SQLite creates -wal and -shm now
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            files = {p.name: mode(p) for p in data.iterdir()}
    finally:
        engine.dispose()
    assert files == {"connhub.db": 0o600, "connhub.db-wal": 0o600, "connhub.db-shm": 0o600}
    assert mode(data) == 0o700
    assert mode(data.parent) == 0o755  # parents are made as mkdir -p makes them: not ours to close


def test_an_existing_database_file_keeps_its_mode(tmp_path):
    """A database the user pointed connhub at (CONNHUB_DB_URL) is theirs: its mode is not changed here."""
    path = tmp_path / "team.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    open_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o640


def test_the_log_and_its_rotations_are_the_owners_only(tmp_path):
    data = tmp_path / "logs-here"
    path = setup_logging(data)
    logger = logging.getLogger("connhub")
    handler = next(h for h in logger.handlers if getattr(h, "baseFilename", None) == str(path))
    try:
        logging.getLogger("connhub.test").info("one line")
        handler.doRollover()
        logging.getLogger("connhub.test").info("another line")
        handler.flush()
        assert mode(data) == 0o700
        assert mode(path) == 0o600
        assert mode(data / "connhub.log.1") == 0o600
        assert "another line" in path.read_text(encoding="utf-8")
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_a_log_an_older_version_left_0644_is_reopened_0600(tmp_path):
    path = tmp_path / "connhub.log"
    path.write_text("old line\n")
    os.chmod(path, 0o644)
    with open_private(path) as out:
        out.write("new line\n")
    assert mode(path) == 0o600
    assert path.read_text() == "old line\nnew line\n"


def test_the_types_cache_and_the_folder_it_creates_are_the_owners_only(tmp_path):
    data = tmp_path / "fresh"
    write_listing(data / "types-cache.json", Registry.discover(BUILTIN, plugins=False), BUILTIN, plugins=False)
    assert mode(data) == 0o700
    assert mode(data / "types-cache.json") == 0o600
    assert [p.name for p in data.iterdir()] == ["types-cache.json"]  # no temporary file left behind


def test_a_strange_umask_still_gives_0700_and_0600(tmp_path):
    os.umask(0o277)  # would make folders 0500 (unusable) and files 0400
    folder = make_private_dir(tmp_path / "odd")
    assert create_private_file(folder / "f") is True
    assert create_private_file(folder / "f") is False
    os.umask(0o022)
    assert mode(folder) == 0o700 and mode(folder / "f") == 0o600


def test_a_too_open_data_folder_is_tightened_once_with_a_notice(tmp_path, caplog):
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    for name in ("connhub.db", "connhub.db-wal", "connhub.log", "types-cache.json", "notes.txt"):
        (data / name).write_text("x")
        os.chmod(data / name, 0o644)
    with caplog.at_level(logging.WARNING, logger="connhub"):
        notice = tighten_data_dir(data)
    assert notice == f"connhub: the data folder {data} could be read by other users (mode 0755): it is now 0700"
    assert notice in caplog.text
    assert mode(data) == 0o700
    assert {n: mode(data / n) for n in ("connhub.db", "connhub.db-wal", "connhub.log", "types-cache.json")} == \
        dict.fromkeys(("connhub.db", "connhub.db-wal", "connhub.log", "types-cache.json"), 0o600)
    assert mode(data / "notes.txt") == 0o644  # not connhub's file: left alone
    assert tighten_data_dir(data) is None  # once: nothing more to say next time


def test_open_files_in_a_private_folder_are_tightened_too(tmp_path):
    data = make_private_dir(tmp_path / "half")
    (data / "connhub.db").write_text("x")
    os.chmod(data / "connhub.db", 0o644)
    assert tighten_data_dir(data) == f"connhub: connhub.db in {data} could be read by other users: now 0600"
    assert mode(data / "connhub.db") == 0o600


def test_a_private_or_missing_folder_says_nothing(tmp_path):
    assert tighten_data_dir(tmp_path / "absent") is None
    assert tighten_data_dir(make_private_dir(tmp_path / "fine")) is None


def test_a_symlinked_file_in_the_data_folder_is_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's")
    os.chmod(outside, 0o644)
    data = make_private_dir(tmp_path / "d")
    (data / "connhub.log").symlink_to(outside)
    assert tighten_data_dir(data) is None
    assert mode(outside) == 0o644
