"""The README's features work from a plain install (`pip install .`), not only beside the test extras.

The suite runs with `.[test]` installed, which can hide a runtime dependency that only a test extra brings
(`CONNHUB_DB_URL=postgresql://…` once ended in "No module named 'psycopg'" for users). Each command here runs
in a child whose imports of every distribution that only the test extras bring are refused, as in a venv
without them. The refused set is derived from pyproject.toml and the installed metadata, never listed by hand.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.services import require_service

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    """The distributions these need, transitively (requirements behind an extra or a marker left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [_name(r) for r in requires if ";" not in r]
    return seen


def test_only_modules() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _closure({_name(r) for r in project["dependencies"]})
    test_only = _closure({_name(r) for r in project["optional-dependencies"]["test"]}) - runtime
    modules = {module for module, dists in metadata.packages_distributions().items()
               if {d.lower().replace("_", "-") for d in dists} <= test_only}
    return {m for m in modules if m.isidentifier() and not m.startswith("_") or m in ("_pytest",)}


test_only_modules.__test__ = False  # a helper, not a test

BOOT = textwrap.dedent("""
    import importlib.abc, sys
    REFUSED = set(sys.argv[1].split(","))
    class PlainInstall(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in REFUSED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, PlainInstall())
    sys.argv = ["connhub", *sys.argv[2:]]
    from connhub.launch import main
    sys.exit(main())
""")


@pytest.fixture(scope="module")
def refused() -> str:
    modules = test_only_modules()
    assert {"pytest", "hypothesis", "faker"} <= modules  # the derivation finds the test extras at all
    return ",".join(sorted(modules))


@pytest.fixture
def run(refused, tmp_path):
    env = {**os.environ, "CONNHUB_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}

    def run(*argv: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-c", BOOT, refused, *argv], input=stdin, capture_output=True,
                              text=True, timeout=120, env={**env, **extra}, cwd=tmp_path)
        assert "No module named" not in done.stderr, done.stderr
        return done

    return run


@pytest.fixture
def postgres_url():
    """A throwaway database on the local PostgreSQL, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg  # the test process has the extras; the child under test does not

    name = f"connhub_plain_{secrets.token_hex(4)}"
    with psycopg.connect("postgresql://postgres@127.0.0.1/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1/{name}"
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_refusal_works(run):
    """The child really lacks the extras: a command importing one fails the way a user's would."""
    done = subprocess.run([sys.executable, "-c", BOOT.replace("from connhub.launch import main",
                                                             "import hypothesis"), "hypothesis", "list"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "No module named 'hypothesis'" in done.stderr


def test_the_readme_commands_on_the_default_database(run, tmp_path):
    require_service("Redis", "127.0.0.1", 6379)
    added = run("add", "redis", "cache", "--set", "host=127.0.0.1", "--set", "port=6379", "--no-prompt")
    assert added.returncode == 0, added.stderr
    listed = run("list", "--json")
    assert [i["name"] for i in json.loads(listed.stdout)] == ["cache"]
    tested = run("test", "cache")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    exported = run("export", "--all", "-o", str(tmp_path / "out.json"))
    assert exported.returncode == 0, exported.stderr
    assert json.loads((tmp_path / "out.json").read_text())["instances"][0]["name"] == "cache"
    types = run("types")
    assert types.returncode == 0 and "postgres" in types.stdout


def test_a_postgresql_catalog_from_a_plain_install(run, postgres_url):
    added = run("add", "redis", "shared-cache", "--set", "host=127.0.0.1", "--set", "port=6379", "--no-prompt",
                CONNHUB_DB_URL=postgres_url)
    assert added.returncode == 0, added.stderr
    listed = run("list", "--json", CONNHUB_DB_URL=postgres_url)
    assert listed.returncode == 0, listed.stderr
    assert [i["name"] for i in json.loads(listed.stdout)] == ["shared-cache"]


def test_team_mode_from_a_plain_install(run, postgres_url, secret_service_keyring):
    """Team mode's client (httpx against OpenBao's KV v2 API) needs nothing the test extras bring."""
    from tests.support.openbao import start_bao

    bao = start_bao()
    try:
        joined = run("team", "join", "--db-url", postgres_url, "--openbao-addr", bao.addr, "--token-stdin",
                     stdin=bao.root_token + "\n")
        assert joined.returncode == 0, joined.stderr
        added = run("add", "redis", "shared-cache", "--set", "host=127.0.0.1", "--secret-stdin", "password",
                    "--secret-scope", "shared", stdin="plain-pw\n")
        assert added.returncode == 0, added.stderr
        status = json.loads(run("team", "status", "--json").stdout)
        assert status["catalog"]["answers"] and status["secrets"]["answers"]
        assert run("team", "leave").returncode == 0
    finally:
        bao.stop()


def test_the_window_paints_from_a_plain_install(run, tmp_path):
    shot = tmp_path / "window.png"
    done = run("gui", CONNHUB_EXIT_AFTER_PAINT="1", CONNHUB_SCREENSHOT=str(shot))
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 1000
