"""Fixtures for the SQLite tests: real database files, and a way to be an ordinary user when the tests run as
root (root may write a read-only file, so "read-only" can only be checked as someone else)."""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def make_database(path: Path, journal_mode: str = "delete") -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id))")
        conn.execute("CREATE INDEX orders_user ON orders (user_id)")
        conn.execute("INSERT INTO users (name) VALUES ('alice'), ('bob')")
        conn.commit()
    finally:
        conn.close()
    return path


def fingerprint(path: Path) -> tuple[bytes, int]:
    """The file's bytes and modification time: what a test that "changes nothing" must leave alone."""
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture
def database(tmp_path) -> Path:
    return make_database(tmp_path / "app.db")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A fresh folder that any user may enter (tmp_path's parents are private to the user running pytest)."""
    directory = Path(tempfile.mkdtemp(prefix="connhub-sqlite-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        directory.chmod(0o755)
        shutil.rmtree(directory, ignore_errors=True)


def nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


@contextmanager
def as_ordinary_user() -> Iterator[None]:
    """As root: the block runs with the effective user and group `nobody` (then root again); otherwise as is.

    File permissions are checked against the effective ids, for every thread of the process."""
    if os.geteuid() != 0:
        yield
        return
    try:
        account = nobody()
        os.setegid(account.pw_gid)
        os.seteuid(account.pw_uid)
    except (KeyError, PermissionError) as exc:
        os.setegid(0)
        pytest.skip(f"running as root, and cannot act as 'nobody' ({exc}): root writes read-only files, so "
                    "read-only access cannot be checked")
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
