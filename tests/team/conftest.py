"""Team mode's parts, real: one OpenBao dev server per session, a throwaway PostgreSQL catalog per module, a
Redis ACL user whose password is the shared secret, and client B as a process of its own (own HOME, data
folder and Secret Service, through scripts/with-test-keyring)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gui.conftest import builtin_types, make_window  # noqa: F401 (the window tests' fixtures)
from tests.support.openbao import create_database, drop_database, start_bao
from tests.support.services import require_binary, require_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bao():
    server = start_bao()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalog():
    """(URL, catalog id) of a new team catalog: created (migrated) as the first member's join would."""
    from sqlalchemy import text

    from connhub.storage.db import open_engine

    name, url = create_database()
    engine = open_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        catalog_id = conn.execute(text("SELECT value FROM settings WHERE key = 'catalog_id'")).scalar()
    engine.dispose()
    yield url, catalog_id, name
    drop_database(name)


@pytest.fixture
def redis_user():
    """A Redis ACL user (name, password) for this test; removed afterwards."""
    require_service("redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    name, password = f"team_{secrets.token_hex(4)}", f"canary-team-{secrets.token_hex(8)}"
    client.execute_command("ACL", "SETUSER", name, "on", f">{password}", "~*", "&*", "+@all")
    yield name, password, client
    client.execute_command("ACL", "DELUSER", name)
    client.close()


@pytest.fixture
def client_b(tmp_path):
    """client_b(steps) → [{"code", "out", "err"}] of B's commands, all in one B session (one keyring)."""
    require_binary("gnome-keyring-daemon", "gnome-keyring")
    home = tmp_path / "b-home"
    home.mkdir()

    def run(steps: list[dict]) -> list[dict]:
        steps_file, out_file = tmp_path / "b-steps.json", tmp_path / "b-out.json"
        steps_file.write_text(json.dumps(steps))
        done = subprocess.run([str(ROOT / "scripts/with-test-keyring"), sys.executable,
                               str(ROOT / "tests/team/client.py"), str(home), str(steps_file), str(out_file)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return json.loads(out_file.read_text())

    run.home = home
    return run
