"""Two members on one PostgreSQL catalog and one OpenBao, each with their own HOME, data folder and keyring:
A here (the run's throwaway Secret Service), B a process of its own under scripts/with-test-keyring."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from connhub.services.team import owner
from tests.support.services import require_binary

pytestmark = pytest.mark.usefixtures("secret_service_keyring")

REDIS = ["--set", "host=127.0.0.1", "--set", "port=6379"]


def join(url, bao, token):
    return {"args": ["team", "join", "--db-url", url, "--openbao-addr", bao.addr, "--token-stdin"],
            "stdin": token + "\n"}


def test_a_shared_secret_is_used_and_rotated_by_both_members_and_a_personal_one_is_each_members_own(
        cli, tmp_path, bao, catalog, redis_user, client_b):
    url, catalog_id, db_name = catalog
    user, first, redis = redis_user
    token_a, token_b = bao.member_token(catalog_id), bao.member_token(catalog_id)
    a = tmp_path / "a"
    joined = cli(a, "team", "join", "--db-url", url, "--openbao-addr", bao.addr, "--token-stdin",
                 stdin=token_a + "\n")
    assert joined.returncode == 0, joined.stderr
    assert "answers" in joined.stdout and token_a not in joined.stdout

    added = cli(a, "add", "redis", "shared-cache", *REDIS, "--set", f"username={user}", "--secret-stdin", "password",
                "--secret-scope", "shared", stdin=first + "\n")
    assert added.returncode == 0, added.stderr
    added = cli(a, "add", "redis", "my-cache", *REDIS, "--set", f"username={user}", "--secret-stdin", "password",
                stdin=first + "\n")
    assert added.returncode == 0, added.stderr
    shared_id = json.loads(cli(a, "show", "shared-cache", "--json").stdout)["id"]
    kept = bao.read("secret", f"connhub/{catalog_id}/{shared_id}")
    assert kept["data"] == {"password": first} and kept["metadata"]["version"] == 1  # OpenBao holds it

    second = first + "-rotated"
    redis.execute_command("ACL", "SETUSER", user, f">{second}")  # the server takes both while the team rotates
    b = client_b([join(url, bao, token_b), {"args": ["list", "--json"]}, {"args": ["test", "shared-cache"]},
                  {"args": ["secret", "rotate", "shared-cache", "--secret-stdin", "password"], "stdin": second + "\n"},
                  {"args": ["test", "my-cache"]},
                  {"args": ["secret", "rotate", "my-cache", "--secret-stdin", "password"], "stdin": second + "\n"},
                  {"args": ["test", "my-cache"]}, {"args": ["team", "status", "--json"]}])
    b_join, b_list, b_test, b_rotate, b_personal, b_own, b_personal_again, b_status = b
    assert b_join["code"] == 0, b_join["err"]
    assert {r["name"] for r in json.loads(b_list["out"])} == {"shared-cache", "my-cache"}
    assert b_test["code"] == 0, b_test["out"] + b_test["err"]  # with the secret from OpenBao
    assert b_rotate["code"] == 0 and "version 2" in b_rotate["out"], b_rotate
    # The personal one: A's secret is in A's keyring only; B is asked for their own, then uses it.
    assert b_personal["code"] == 1 and "your own" in b_personal["out"] + b_personal["err"], b_personal
    assert b_own["code"] == 0 and "your keyring" in b_own["out"], b_own
    assert b_personal_again["code"] == 0, b_personal_again
    status = json.loads(b_status["out"])
    assert status["catalog"]["answers"] and status["secrets"]["answers"] and status["catalog"]["id"] == catalog_id

    redis.execute_command("ACL", "SETUSER", user, f"<{first}")  # the old password is gone from the server
    tested = cli(a, "test", "shared-cache")
    assert tested.returncode == 0, tested.stdout + tested.stderr  # A's next test reads version 2
    assert bao.read("secret", f"connhub/{catalog_id}/{shared_id}")["data"] == {"password": second}
    assert cli(a, "test", "my-cache").returncode == 1  # A's own personal secret is still the old one

    # No secret (nor token) in the catalog, the logs, or any output; OpenBao holds the shared one.
    canaries = [first, second, token_a, token_b]
    require_binary("pg_dump", "postgresql-client")
    dump = subprocess.run([shutil.which("pg_dump"), "-h", "127.0.0.1", "-U", "postgres", db_name],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert "shared-cache" in dump
    outputs = [joined.stdout, added.stdout, tested.stdout, tested.stderr] + [r["out"] + r["err"] for r in b]
    files = [p for root in (a, client_b.home) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files)
    for canary in canaries:
        assert canary not in dump
        assert not any(canary in text for text in outputs)
        assert not any(canary.encode() in p.read_bytes() for p in files), canary

    assert cli(a, "team", "leave").returncode == 0
    assert cli(a, "list", "--json").stdout.strip() == "[]"  # the local catalog, untouched


def test_the_database_password_goes_to_the_keyring_never_to_a_file_or_an_argument(cli, tmp_path, catalog,
                                                                                   secret_service_keyring):
    url, _catalog_id, _ = catalog
    data = tmp_path / "data"
    with_password = url.replace("postgres@", "postgres:canary-db-pw@")
    refused = cli(data, "team", "join", "--db-url", with_password)
    assert refused.returncode == 2 and "must not hold a password" in refused.stderr
    assert "canary-db-pw" not in refused.stderr + refused.stdout
    dead = cli(data, "team", "join", "--db-url", "postgresql://postgres@127.0.0.1:1/nothing")
    assert dead.returncode == 1 and "team join: catalog:" in dead.stderr and not (data / "team.json").exists()

    joined = cli(data, "team", "join", "--db-url", url, "--db-password-env", "PW", env={"PW": "canary-db-pw"})
    assert joined.returncode == 0, joined.stderr
    assert "canary-db-pw" not in (data / "team.json").read_text() and "canary-db-pw" not in joined.stdout
    assert oct((data / "team.json").stat().st_mode & 0o777) == "0o600"
    assert secret_service_keyring.get_password("connhub", f"{owner(data)}:db-password") == "canary-db-pw"
    status = cli(data, "team", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["secrets"] == {"store": "keyring"}
    assert cli(data, "team", "leave").returncode == 0
    assert secret_service_keyring.get_password("connhub", f"{owner(data)}:db-password") is None


def test_in_a_team_every_command_reads_the_team_catalog_and_the_local_one_waits_untouched(cli, tmp_path, catalog):
    url, _catalog_id, _ = catalog
    data = tmp_path / "data"
    assert cli(data, "add", "redis", "local-only", *REDIS, "--no-prompt").returncode == 0
    assert cli(data, "team", "join", "--db-url", url).returncode == 0
    listed = cli(data, "list", "--json")  # not the quick sqlite3 read of the local file
    assert "local-only" not in listed.stdout and json.loads(listed.stdout) is not None
    from connhub.cli.completion import _instance_names

    assert "local-only" not in _instance_names(type("Args", (), {"data_dir": data, "workspace": "default"})())
    assert cli(data, "team", "leave").returncode == 0
    assert [r["name"] for r in json.loads(cli(data, "list", "--json").stdout)] == ["local-only"]


def test_a_shared_scope_outside_a_team_is_refused_and_nothing_is_saved(cli, tmp_path):
    data = tmp_path / "data"
    added = cli(data, "add", "redis", "lonely", *REDIS, "--secret-stdin", "password", "--secret-scope", "shared",
                stdin="canary-lonely\n")
    assert added.returncode == 1 and "no shared secret store" in added.stderr and "canary-lonely" not in added.stderr
    assert cli(data, "list", "--json").stdout.strip() == "[]"
    status = cli(data, "team", "status")
    assert status.returncode == 0 and "local SQLite catalog" in status.stdout
