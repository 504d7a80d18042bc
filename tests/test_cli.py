"""The `connhub` command line. Most tests call `connhub.cli.main(argv)` in this process through the `cli` fixture
(tests/conftest.py: the same environment, standard input and output a subprocess would get, milliseconds instead
of ~0.7 s of start-up); the ones about the process itself (the entry point, exit codes as a shell sees them,
piped standard input, a terminal, an environment the child inherits) run the real command in a subprocess.

Secrets reach the throwaway Secret Service of scripts/with-test-keyring; tests that store a secret skip without
one, and fail under CONNHUB_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import ast
import io
import json
import os
import select
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connhub import __version__
from connhub.storage.vault import KeyringVault
from tests.support.services import free_port, require_service

MASK = "********"
TEST_KEYS = {"name", "type", "ok", "error_class", "message", "hint", "latency_ms", "server_version", "stages"}


def _env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)  # keeps the test Secret Service's D-Bus address and PYTHON_KEYRING_BACKEND
    env.pop("CONNHUB_DB_URL", None)
    env["CONNHUB_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def run_cli(data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connhub", *args], input=stdin if stdin is not None else "",
                          capture_output=True, text=True, env=_env(data_dir, env), timeout=timeout)


def run_many(data_dir: Path, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    """Independent commands at once (each pays ~1 s of start-up). Only on a data dir that already exists,
    or for commands that never open the database."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: run_cli(data_dir, *args), commands))


@pytest.fixture(scope="module")
def fake():
    from faker import Faker

    return Faker()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def lines_of(done: subprocess.CompletedProcess) -> list[str]:
    return done.stdout.splitlines()


# --- read-only commands -----------------------------------------------------------------------------------

def test_version_and_types(cli, data_dir):
    version, types, types_json = cli.many(data_dir, ("--version",), ("types",), ("types", "--json"))
    assert version.returncode == 0 and version.stdout.strip() == f"connhub {__version__}"
    assert types.returncode == 0, types.stderr
    listed = {line.split()[0]: line for line in lines_of(types)}
    assert {"postgres", "redis", "http"} <= set(listed)
    assert "PostgreSQL" in listed["postgres"] and "DISABLED" not in types.stdout
    assert types_json.returncode == 0
    data = {t["type"]: t for t in json.loads(types_json.stdout)}
    assert {"postgres", "redis", "http"} <= set(data)
    assert data["redis"] == {"type": "redis", "name": "Redis", "group": "cache", "source": "built-in", "ok": True,
                             "error": None}


def test_add_list_show(cli, data_dir):
    added = cli(data_dir, "add", "redis", "cache", "--set", "host=127.0.0.1", "--set", "port=6379",
                    "--tag", "team")
    assert added.returncode == 0, added.stderr
    assert "Saved cache (redis)" in added.stdout

    listed, listed_json, shown, shown_json, again = cli.many(
        data_dir, ("list",), ("list", "--json"), ("show", "cache"), ("show", "cache", "--json"),
        ("add", "redis", "cache", "--set", "host=10.0.0.1"))
    assert listed.returncode == 0
    [line] = lines_of(listed)
    assert line.split()[:3] == ["cache", "redis", "untested"] and "redis://127.0.0.1:6379" in line
    [item] = json.loads(listed_json.stdout)
    assert (item["name"], item["type"], item["status"], item["tags"]) == ("cache", "redis", "untested", ["team"])
    assert shown.returncode == 0 and "redis://127.0.0.1:6379" in shown.stdout
    assert any(line.split() == ["host", "127.0.0.1"] for line in lines_of(shown))
    detail = json.loads(shown_json.stdout)
    assert detail["id"] == item["id"]
    assert detail["config"] == {"host": "127.0.0.1", "port": 6379, "db": 0, "tls": False}
    # The same name twice is a usage error that says what to do.
    assert again.returncode == 2
    assert "'cache' already exists" in again.stderr and "choose another name" in again.stderr


# --- usage errors -----------------------------------------------------------------------------------------

def test_usage_errors_exit_2_with_a_helpful_message(cli, data_dir):
    # At once: only `show` opens (and creates) the database, the others stop before it.
    secret_arg, no_equals, unknown, invalid, no_names, zero_timeout, missing_show, bad_env = cli.many(
        data_dir,
        ("add", "redis", "r", "--set", "password=hunter2"),
        ("add", "redis", "r", "--set", "host=h", "--set", "password:hunter2"),
        ("add", "redis", "r", "--set", "colour=blue"),
        ("add", "redis", "r", "--set", "host=127.0.0.1", "--set", "port=70000"),
        ("test",),
        ("test", "x", "--timeout", "0"),
        ("show", "nope"),
        ("add", "http", "api", "--set", "base_url=https://x.example", "--set", "auth.method=bearer",
         "--secret-env", "auth.token=CONNHUB_TEST_UNSET_VARIABLE"),
    )
    assert secret_arg.returncode == 2
    assert "password is a secret" in secret_arg.stderr and "--secret-stdin password" in secret_arg.stderr
    assert "hunter2" not in secret_arg.stderr + secret_arg.stdout
    assert no_equals.returncode == 2 and "argument 2 of --set has no '='" in no_equals.stderr
    assert "hunter2" not in no_equals.stderr + no_equals.stdout
    assert unknown.returncode == 2
    assert "no field 'colour'" in unknown.stderr and "host, password, port" in unknown.stderr
    assert invalid.returncode == 2 and "port: Must be at most 65535" in invalid.stderr
    assert no_names.returncode == 2 and "--all" in no_names.stderr
    assert zero_timeout.returncode == 2
    assert zero_timeout.stderr == "connhub: --timeout: The timeout must be between 0.1 and 600 seconds (not 0)\n"
    assert missing_show.returncode == 2 and "No instance named 'nope'" in missing_show.stderr
    assert bad_env.returncode == 2 and "CONNHUB_TEST_UNSET_VARIABLE" in bad_env.stderr
    listed = cli(data_dir, "list")  # nothing was saved by any of them
    assert listed.returncode == 0 and "No instances yet. Add one with `connhub add TYPE NAME`" in listed.stdout


# --- secrets ------------------------------------------------------------------------------------------------

def test_secrets_from_stdin_and_env_are_masked_and_removed_with_the_instance(cli, data_dir, secret_service_keyring,
                                                                            fake):
    token, env_token = fake.sha256(), fake.password(length=24)
    added = cli(data_dir, "add", "http", "api", "--set", "base_url=https://api.example.com/v1",
                    "--set", "auth.method=bearer", "--secret-stdin", "auth.token", stdin=token + "\n")
    assert added.returncode == 0, added.stderr
    from_env = cli(data_dir, "add", "http", "api2", "--set", "base_url=https://api.example.com/v2",
                       "--set", "auth.method=bearer", "--secret-env", "auth.token=MY_API_TOKEN",
                       env={"MY_API_TOKEN": env_token})
    assert from_env.returncode == 0, from_env.stderr
    listed, shown, shown_json = cli.many(data_dir, ("list", "--json"), ("show", "api"), ("show", "api", "--json"))
    ids = {i["name"]: i["id"] for i in json.loads(listed.stdout)}
    try:
        assert secret_service_keyring.get_password("connhub", f"{ids['api']}:auth.token") == token
        assert secret_service_keyring.get_password("connhub", f"{ids['api2']}:auth.token") == env_token

        assert any(line.split() == ["auth.token", MASK] for line in lines_of(shown))
        assert json.loads(shown_json.stdout)["config"] == {
            "base_url": "https://api.example.com/v1", "auth.method": "bearer", "auth.token": MASK,
            "test_path": "/", "verify_tls": True}
        for done in (added, from_env, listed, shown, shown_json):
            assert token not in done.stdout + done.stderr and env_token not in done.stdout + done.stderr

        removed = cli(data_dir, "remove", "api")
        assert removed.returncode == 0 and "Removed api" in removed.stdout
        assert secret_service_keyring.get_password("connhub", f"{ids['api']}:auth.token") is None
        assert [i["name"] for i in json.loads(cli(data_dir, "list", "--json").stdout)] == ["api2"]
    finally:
        for instance_id in ids.values():
            KeyringVault(backend=secret_service_keyring).delete(instance_id, ["auth.token"])


def test_without_a_secure_keyring_a_secret_is_refused_and_nothing_saved(data_dir):
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = run_cli(data_dir, "add", "http", "api", "--set", "base_url=https://api.example.com",
                   "--set", "auth.method=bearer", "--secret-stdin", "auth.token", stdin="tok-abc\n",
                   env=no_keyring)
    assert done.returncode == 1
    assert "No secure keyring is available" in done.stderr and "gnome-keyring" in done.stderr
    assert "tok-abc" not in done.stdout + done.stderr
    listed = run_cli(data_dir, "list", "--json", env=no_keyring)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_the_password_prompt_hides_what_is_typed(cli, data_dir, secret_service_keyring, fake):
    pty = pytest.importorskip("pty")
    import fcntl
    import termios

    password = fake.password(length=20)
    master, slave = pty.openpty()

    def take_terminal():  # the child's controlling terminal is the pty, so getpass uses /dev/tty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "connhub", "add", "postgres", "db", "--set", "host=127.0.0.1"],
                            stdin=slave, stdout=slave, stderr=slave, env=_env(data_dir), start_new_session=True,
                            preexec_fn=take_terminal, close_fds=True)
    os.close(slave)
    output = b""

    def read_until(predicate, deadline: float) -> None:
        nonlocal output
        while not predicate() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    return
                if not chunk:
                    return
                output += chunk

    try:
        read_until(lambda: b"Password" in output, time.monotonic() + 20)
        assert b"Password (password, empty for none):" in output, output
        os.write(master, password.encode() + b"\n")
        read_until(lambda: proc.poll() is not None and b"Saved" in output, time.monotonic() + 20)
        read_until(lambda: False, time.monotonic() + 0.5)  # drain
        assert proc.wait(timeout=10) == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = output.decode(errors="replace")
    assert "Saved db (postgres)" in text
    assert password not in text
    detail = json.loads(cli(data_dir, "show", "db", "--json").stdout)
    assert detail["config"]["password"] == MASK
    try:
        assert secret_service_keyring.get_password("connhub", f"{detail['id']}:password") == password
    finally:
        KeyringVault(backend=secret_service_keyring).delete(detail["id"], ["password"])


# --- tests --------------------------------------------------------------------------------------------------

def test_test_reports_json_and_exit_codes(cli, data_dir):
    require_service("redis", "127.0.0.1", 6379)
    closed = free_port()
    assert cli(data_dir, "add", "redis", "up", "--set", "host=127.0.0.1", "--set", "port=6379").returncode == 0
    assert cli(data_dir, "add", "redis", "down", "--set", "host=127.0.0.1",
                   "--set", f"port={closed}").returncode == 0

    up, down, every = cli.many(data_dir, ("test", "up", "--json"), ("test", "down", "--json"), ("test", "--all"))

    assert up.returncode == 0, up.stdout + up.stderr
    result = json.loads(up.stdout)
    assert TEST_KEYS <= set(result)
    assert (result["name"], result["type"], result["ok"], result["error_class"]) == ("up", "redis", True, None)
    assert result["server_version"] and result["latency_ms"] > 0
    assert [s["name"] for s in result["stages"]][-1] == "probe" and all(s["ok"] for s in result["stages"])

    assert down.returncode == 1
    result = json.loads(down.stdout)
    assert (result["ok"], result["error_class"]) == (False, "refused")
    assert "port" in result["hint"] and result["server_version"] is None

    assert every.returncode == 1  # one failure fails the run
    by_name = {line.split()[1]: line.split()[0] for line in lines_of(every) if line[:4] in ("ok  ", "FAIL")}
    assert by_name == {"up": "ok", "down": "FAIL"}
    assert "hint: Check the port" in every.stdout


def test_timeout_option_is_honoured(cli, data_dir):
    from tests.support.servers import blackhole_server

    with blackhole_server() as (host, port):
        start = time.monotonic()
        assert cli(data_dir, "add", "redis", "hole", "--set", f"host={host}",
                       "--set", f"port={port}").returncode == 0
        startup = time.monotonic() - start  # what a command costs on this (shared, noisy) machine
        start = time.monotonic()
        done = cli(data_dir, "test", "hole", "--json", "--timeout", "1")
        elapsed = time.monotonic() - start
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["error_class"] == "timeout" and "1 s" in result["message"]
    assert result["latency_ms"] < 1800
    assert elapsed < max(3.0, startup + 2.0), f"--timeout 1 took {elapsed:.1f} s (start-up {startup:.1f} s)"


# --- settings and the data dir -----------------------------------------------------------------------------

def test_settings_timeout_persists(cli, data_dir):
    changed = cli(data_dir, "settings", "--timeout", "5")
    assert changed.returncode == 0, changed.stderr
    shown, refused = cli.many(data_dir, ("settings", "--json"), ("settings", "--timeout", "0"))
    data = json.loads(shown.stdout)
    assert data["default_timeout"] == 5.0 and data["data_dir"] == str(data_dir)
    assert refused.returncode == 2 and "between 0.1 and 600 seconds" in refused.stderr


def test_data_dir_option_works_like_the_environment_variable(cli, tmp_path):
    chosen, other = tmp_path / "chosen", tmp_path / "other"
    added = cli(other, "--data-dir", str(chosen), "add", "redis", "cache", "--set", "host=127.0.0.1")
    assert added.returncode == 0, added.stderr
    assert (chosen / "connhub.db").is_file() and (chosen / "connhub.log").is_file()
    assert not (other / "connhub.db").exists()
    via_env = cli(chosen, "list", "--json")  # CONNHUB_DATA_DIR=chosen
    assert [i["name"] for i in json.loads(via_env.stdout)] == ["cache"]


# --- connection URLs ----------------------------------------------------------------------------------------

def test_add_from_a_url_with_set_overriding_it(cli, data_dir):
    added = cli(data_dir, "add", "postgres", "orders", "--url",
                    "POSTGRESQL://alice@[2001:db8::5]/orders?sslmode=require", "--set", "port=6543", "--no-prompt")
    assert added.returncode == 0, added.stderr
    assert "Saved orders (postgres) postgres://alice@[2001:db8::5]:6543/orders" in added.stdout
    from_env = cli(data_dir, "add", "redis", "cache", "--url-env", "CACHE_URL", "--set", "db=4",
                       env={"CACHE_URL": "rediss://cache.example.com/3"})
    assert from_env.returncode == 0, from_env.stderr
    orders, cache = cli.many(data_dir, ("show", "orders", "--json"), ("show", "cache", "--json"))
    assert json.loads(orders.stdout)["config"] == {
        "host": "2001:db8::5", "port": 6543, "database": "orders", "user": "alice", "sslmode": "require",
        "target_session_attrs": "any"}
    # The URL's scheme says TLS and its path db 3; --set db=4 wins; the port is the default.
    assert json.loads(cache.stdout)["config"] == {"host": "cache.example.com", "port": 6379, "db": 4, "tls": True}


def test_a_url_parameter_postgres_maps_to_no_field_is_kept_in_server_settings(cli, data_dir):
    """Issue 24: not refused but kept, with a warning, in the Advanced list the driver sends (asyncpg's own rule
    for a URL's other parameters), and written back by `show --url`."""
    added = cli(data_dir, "add", "postgres", "db", "--url",
                "postgres://alice@db.example.com/orders?sslmode=require&search_path=app&statement_timeout=5s")
    assert added.returncode == 0, added.stderr
    assert "kept in Server settings for the driver: search_path, statement_timeout" in added.stderr
    shown = json.loads(cli(data_dir, "show", "db", "--json").stdout)
    assert shown["config"]["server_settings"] == "search_path=app\nstatement_timeout=5s"
    assert cli(data_dir, "show", "db", "--url").stdout.strip() == (  # libpq's own spelling: psql reads it too
        "postgres://alice@db.example.com:5432/orders?sslmode=require"
        "&options=-c%20search_path%3Dapp%20-c%20statement_timeout%3D5s")


def test_url_usage_errors_exit_2_and_never_echo_the_url(cli, data_dir, fake):
    password = fake.password(length=20, special_chars=False)
    token_like = fake.sha1()
    with_password, password_only, unknown, malformed, fragment, both, unset_env = cli.many(
        data_dir,
        ("add", "postgres", "db", "--url", f"postgres://alice:{password}@db.example.com/orders"),
        ("add", "redis", "cache", "--url", f"redis://:{password}@cache.example.com"),
        ("add", "redis", "cache", "--url", f"redis://cache.example.com/0?keepalives={token_like}&gssencmode=disable"),
        ("add", "redis", "cache", "--url", "redis://cache.example.com:70000/0"),
        ("add", "postgres", "db", "--url", f"postgres://alice:{password}#x@db.example.com/orders"),
        ("add", "postgres", "db", "--url", "postgres://db.example.com/orders", "--url-env", "X"),
        ("add", "postgres", "db", "--url-env", "CONNHUB_TEST_UNSET_URL"),
    )
    for done in (with_password, password_only):
        assert done.returncode == 2
        assert done.stderr == (
            "connhub: --url: the URL holds a secret (password) and secrets are never taken from arguments (other "
            "users and your shell history can see them): pass the URL with --url-stdin or --url-env VAR instead\n")
    assert unknown.returncode == 2  # redis keeps no driver options of its own: an unknown one is refused
    assert unknown.stderr.startswith("connhub: --url: the URL has parameters redis does not know: keepalives, "
                                     "gssencmode (remove them; it knows ")
    assert token_like not in unknown.stderr
    assert malformed.returncode == 2
    assert malformed.stderr == "connhub: --url: port '70000' is not a number from 1 to 65535\n"
    assert fragment.returncode == 2
    assert fragment.stderr == ("connhub: --url: a connection URL has no '#fragment': remove it, or percent-encode "
                               "'#' as %23\n")
    assert both.returncode == 2 and "not allowed with argument --url" in both.stderr
    assert unset_env.returncode == 2
    assert unset_env.stderr == "connhub: --url-env: environment variable 'CONNHUB_TEST_UNSET_URL' is not set\n"
    for done in (with_password, password_only, unknown, malformed, fragment, both, unset_env):
        output = done.stdout + done.stderr
        assert password not in output and token_like not in output and "db.example.com" not in output
    listed = cli(data_dir, "list", "--json")  # nothing was saved by any of them
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_a_password_in_a_url_from_stdin_or_env_reaches_the_keyring_only(cli, data_dir, secret_service_keyring, fake):
    from urllib.parse import quote, quote_plus

    # Canaries with what breaks other parsers: raw '@', ':' and '+', and (encoded) '/', '?', '#', '%' and UTF-8.
    canary = f"{fake.password(length=12)}@:+/?#%é"
    env_canary = f"{fake.password(length=12, special_chars=False)}+@:!$&*()"
    url = f"postgres://alice:{quote(canary, safe='@:+')}@127.0.0.1:5432/orders?sslmode=disable"
    added = cli(data_dir, "add", "postgres", "orders", "--url-stdin", stdin=url + "\n")
    assert added.returncode == 0, added.stderr
    assert "Saved orders (postgres) postgres://alice@127.0.0.1:5432/orders" in added.stdout
    from_env = cli(data_dir, "add", "redis", "cache", "--url-env", "CACHE_URL",
                       env={"CACHE_URL": f"rediss://app:{env_canary}@127.0.0.1:6380/2"})
    assert from_env.returncode == 0, from_env.stderr
    listed, shown, shown_json = cli.many(data_dir, ("list", "--json"), ("show", "orders"), ("show", "cache", "--json"))
    ids = {item["name"]: item["id"] for item in json.loads(listed.stdout)}
    try:
        assert secret_service_keyring.get_password("connhub", f"{ids['orders']}:password") == canary
        assert secret_service_keyring.get_password("connhub", f"{ids['cache']}:password") == env_canary
        assert json.loads(shown_json.stdout)["config"] == {"host": "127.0.0.1", "port": 6380, "db": 2,
                                                           "username": "app", "tls": True, "password": MASK}
        assert any(line.split() == ["password", MASK] for line in lines_of(shown))
        files = {path.name: path.read_bytes() for path in data_dir.iterdir() if path.is_file()}
        assert "connhub.db" in files and "connhub.log" in files
        outputs = {f"output {i}": (done.stdout + done.stderr).encode()
                   for i, done in enumerate((added, from_env, listed, shown, shown_json))}
        for secret in (canary, env_canary):
            forms = {secret, quote(secret, safe=""), quote(secret, safe="@:+"), quote_plus(secret)}
            for where, blob in {**files, **outputs}.items():
                assert not any(form.encode() in blob for form in forms), f"a canary is in {where}"
    finally:
        for instance_id in ids.values():
            KeyringVault(backend=secret_service_keyring).delete(instance_id, ["password"])


# --- events, validate-event and app-level config (`cfg:` fields) ------------------------------------------

def run_with_types(data_dir: Path, folders: list[Path], *args: str, stdin: str | None = None,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command line in a subprocess, its registry made of these type folders only (the synthetic
    `acme` type of tests/services/synthetic.py) instead of discovering the built-ins."""
    code = "import sys; from tests.services.synthetic import cli_main; sys.exit(cli_main())"
    return subprocess.run([sys.executable, "-c", code, *map(str, folders), "--", *args],
                          input=stdin if stdin is not None else "", capture_output=True, text=True,
                          env=_env(data_dir, env), timeout=30, cwd=Path(__file__).resolve().parent.parent)


@pytest.fixture
def with_types(cli):
    """with_types(data_dir, folders, *args, stdin=, env=): `cli` with the registry made of these folders only."""
    from connhub.plugins.registry import Registry

    def run(data_dir: Path, folders: list[Path], *args: str, stdin: str | None = None,
            env: dict[str, str] | None = None):
        with pytest.MonkeyPatch.context() as scoped:
            scoped.setattr(Registry, "discover", classmethod(
                lambda cls, *a, **kw: Registry.from_folders(folders, source="built-in")))
            return cli(data_dir, *args, stdin=stdin, env=env)

    return run


@pytest.fixture
def acme(tmp_path) -> Path:
    from tests.services.synthetic import make_acme

    return make_acme(tmp_path / "types")


def test_events_lists_what_a_type_sends(with_types, data_dir, acme):
    text, as_json, unknown = (with_types(data_dir, [acme], *args)
                              for args in [("events", "acme"), ("events", "acme", "--json"), ("events", "nope")])
    assert text.returncode == 0, text.stderr
    assert lines_of(text) == ["order.created  An order was placed.", "ping           Sent once when a webhook is set up."]
    assert json.loads(as_json.stdout) == [
        {"type": "order.created", "description": "An order was placed.", "schema": "events/order_created.json"},
        {"type": "ping", "description": "Sent once when a webhook is set up.", "schema": "events/ping.json"}]
    assert unknown.returncode == 2 and "unknown integration type 'nope'" in unknown.stderr
    assert not data_dir.joinpath("connhub.db").exists()  # listing events opens no database


def test_validate_event_exit_codes_and_messages(with_types, data_dir, acme, tmp_path):
    from tests.services.synthetic import VALID_ORDER

    good, bad, broken, binary = (tmp_path / n for n in ("good.json", "bad.json", "broken.json", "binary.json"))
    good.write_text(json.dumps(VALID_ORDER), encoding="utf-8-sig")  # a BOM, as some editors write
    bad.write_text(json.dumps({**VALID_ORDER, "amount": "12.50", "customer": {}, "extra": 1}))
    broken.write_text('{"id": "ord_1",\n  "amount": 12,\n  "customer": }\n')
    binary.write_bytes(b"\xff\xfe\x00{")
    cases = {
        "valid": ("validate-event", "acme", "order.created", str(good)),
        "invalid": ("validate-event", "acme", "order.created", str(bad)),
        "invalid json": ("validate-event", "acme", "order.created", str(bad), "--json"),
        "valid json": ("validate-event", "acme", "order.created", str(good), "--json"),
        "not json": ("validate-event", "acme", "order.created", str(broken)),
        "not text": ("validate-event", "acme", "ping", str(binary)),
        "missing": ("validate-event", "acme", "ping", str(tmp_path / "nowhere.json")),
        "unknown event": ("validate-event", "acme", "order.deleted", str(good)),
        "unknown type": ("validate-event", "nope", "ping", str(good)),
    }
    done = {name: with_types(data_dir, [acme], *args) for name, args in cases.items()}

    assert done["valid"].returncode == 0, done["valid"].stderr
    assert lines_of(done["valid"]) == [f"valid: {good} is a valid acme order.created payload"]
    assert done["invalid"].returncode == 1
    assert lines_of(done["invalid"]) == [
        f"invalid: {bad} is not a valid acme order.created payload (3 errors)",
        "  $.amount: expected integer, got string",
        "  $.customer.email: required property is missing",
        "  $.extra: unexpected property"]
    assert done["invalid json"].returncode == 1
    assert json.loads(done["invalid json"].stdout) == {
        "type": "acme", "event": "order.created", "file": str(bad), "valid": False,
        "errors": [{"path": "$.amount", "message": "expected integer, got string"},
                   {"path": "$.customer.email", "message": "required property is missing"},
                   {"path": "$.extra", "message": "unexpected property"}]}
    assert done["valid json"].returncode == 0
    assert json.loads(done["valid json"].stdout)["valid"] is True and json.loads(done["valid json"].stdout)[
        "errors"] == []
    usage = {name: done[name] for name in ("not json", "not text", "missing", "unknown event", "unknown type")}
    assert {name: d.returncode for name, d in usage.items()} == dict.fromkeys(usage, 2)
    assert all(d.stdout == "" for d in usage.values())
    assert usage["not json"].stderr.strip() == (f"connhub: {broken}: is not valid JSON (expected a value here) at "
                                                "line 3, column 15")
    assert usage["not text"].stderr.strip() == (f"connhub: {binary}: is not UTF-8 text (byte 0 cannot be decoded): "
                                                "save it as UTF-8")
    assert usage["missing"].stderr.strip() == f"connhub: cannot read {tmp_path / 'nowhere.json'}: No such file or directory"
    assert usage["unknown event"].stderr.strip() == ("connhub: acme has no event 'order.deleted'; its events: "
                                                     "order.created, ping (see `connhub events acme`)")
    assert "unknown integration type 'nope'" in usage["unknown type"].stderr


def test_validate_event_reads_standard_input(data_dir, acme):
    done = run_with_types(data_dir, [acme], "validate-event", "acme", "ping", "-", stdin='{"zen": 42}')
    assert done.returncode == 1
    assert lines_of(done) == ["invalid: standard input is not a valid acme ping payload (1 error)",
                              "  $.zen: expected string, got integer"]


def test_events_of_the_builtin_github_type(cli, data_dir, tmp_path):
    from connhub.plugins.registry import Registry

    registry = Registry.discover(plugins=False)
    if "github" not in registry or not registry.get("github").ok:
        pytest.skip("the github type is not (yet) in this tree")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    events, invalid = cli.many(data_dir, ("events", "github", "--json"),
                               ("validate-event", "github", "push", str(empty), "--json"))
    assert events.returncode == 0, events.stderr
    assert {"push", "pull_request", "issues"} <= {e["type"] for e in json.loads(events.stdout)}
    assert invalid.returncode == 1
    report = json.loads(invalid.stdout)
    assert report["valid"] is False
    assert {"path": "$.ref", "message": "required property is missing"} in report["errors"]
    sample = Path(__file__).parent / "integrations" / "saas" / "events" / "github" / "push.json"
    if sample.is_file():  # a payload as GitHub documents it, when the SaaS tests ship one
        valid = cli(data_dir, "validate-event", "github", "push", str(sample))
        assert valid.returncode == 0, valid.stdout + valid.stderr


def test_config_sets_shows_and_unsets_app_level_settings(with_types, data_dir, acme):
    shown = with_types(data_dir, [acme], "config", "acme")
    assert shown.returncode == 0, shown.stderr
    assert lines_of(shown) == ["Acme API (acme)", "  cfg:client_id      (not set)", "  cfg:client_secret  (not set)",
                               "  cfg:proxy          (not set)", "  cfg:retries        2 (default)"]
    changed = with_types(data_dir, [acme], "config", "acme", "--set", "cfg:proxy=${env:ACME_PROXY}",
                             "--set", "retries=4", "--set", "cfg:client_id=client-42")
    assert changed.returncode == 0, changed.stderr
    assert lines_of(changed)[0] == "Saved the app-level settings of Acme API."
    assert "  cfg:proxy          ${env:ACME_PROXY}" in lines_of(changed)
    assert "  cfg:retries        4" in lines_of(changed)

    listed = json.loads(with_types(data_dir, [acme], "config", "--json").stdout)
    [acme_settings] = listed
    assert acme_settings["settings"]["cfg:retries"] == {"title": "Retries", "secret": False, "set": True, "value": 4,
                                                       "default": 2}
    unset = with_types(data_dir, [acme], "config", "acme", "--unset", "cfg:proxy", "--set", "cfg:retries=",
                           "--json")
    assert unset.returncode == 0, unset.stderr
    settings = json.loads(unset.stdout)["settings"]
    assert (settings["cfg:proxy"]["set"], settings["cfg:retries"]["set"], settings["cfg:client_id"]["value"]) == (
        False, False, "client-42")


def test_config_usage_errors(with_types, data_dir, acme):
    cases = [
        ("config", "acme", "--set", "cfg:client_secret=hunter2-secret"),
        ("config", "acme", "--set", "cfg:client_id:hunter2-secret"),
        ("config", "acme", "--set", "cfg:colour=blue"),
        ("config", "acme", "--set", "cfg:retries=9"),
        ("config", "acme", "--secret-stdin", "cfg:proxy"),
        ("config", "acme", "--secret-stdin", "cfg:client_secret"),  # nothing on standard input
        ("config", "acme", "--secret-env", "cfg:client_secret=CONNHUB_TEST_UNSET_VARIABLE"),
        ("config", "--set", "cfg:proxy=http://p"),
    ]
    done = [with_types(data_dir, [acme], *args) for args in cases]
    assert [d.returncode for d in done] == [2] * len(cases), [d.stderr for d in done]
    errors = [d.stderr.strip() for d in done]
    assert errors[0] == ("connhub: cfg:client_secret is a secret: pass it with --secret-stdin cfg:client_secret "
                         "or --secret-env cfg:client_secret=VAR")
    assert errors[1] == "connhub: --set takes cfg:FIELD=VALUE; argument 1 of --set has no '='"
    assert errors[2].startswith("connhub: acme has no app-level setting 'cfg:colour'; its settings: cfg:client_id")
    assert errors[3] == "connhub: cfg:retries: Must be at most 5"
    assert errors[4] == "connhub: cfg:proxy is not a secret: pass it with --set cfg:proxy=VALUE"
    assert "standard input gave an empty line" in errors[5]
    assert "CONNHUB_TEST_UNSET_VARIABLE" in errors[6]
    assert errors[7].startswith("connhub: name the type")
    assert not any("hunter2-secret" in d.stdout + d.stderr for d in done)  # a secret is never echoed


def test_config_of_a_type_without_app_settings(cli, data_dir):
    done = cli(data_dir, "config", "redis")
    assert done.returncode == 2
    assert done.stderr.startswith("connhub: redis has no app-level settings (no cfg: fields); types that have some:")


def test_config_secret_goes_to_the_keyring_and_reaches_a_test(with_types, data_dir, acme, secret_service_keyring):
    """`--secret-stdin` stores the app-level secret under `app:acme:cfg:client_secret`; `connhub test` then
    hands it (and the other settings) to the integration, whose code here reports what it got, masked."""
    saved = with_types(data_dir, [acme], "config", "acme", "--secret-stdin", "cfg:client_secret",
                           "--set", "cfg:client_id=client-42", stdin="app-s3cret-value\n")
    try:
        assert saved.returncode == 0, saved.stderr
        assert "  cfg:client_secret  ********" in lines_of(saved)
        assert secret_service_keyring.get_password("connhub", "app:acme:cfg:client_secret") == "app-s3cret-value"
        added = with_types(data_dir, [acme], "add", "acme", "shop", "--set", "host=api.acme.test",
                               "--set", "port=${env:ACME_PORT}", "--no-prompt")
        assert added.returncode == 0, added.stderr
        unset_var = with_types(data_dir, [acme], "test", "shop", "--json")
        assert unset_var.returncode == 1
        result = json.loads(unset_var.stdout)
        assert result["error_class"] == "config" and "ACME_PORT" in result["message"]
        ok = with_types(data_dir, [acme], "test", "shop", "--json", env={"ACME_PORT": "8443"})
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "app-s3cret-value" not in ok.stdout + ok.stderr + saved.stdout
        written = {path.name: path.read_bytes() for path in data_dir.iterdir() if path.is_file()}
        assert "connhub.db" in written and "connhub.log" in written
        assert not any(b"app-s3cret-value" in blob for blob in written.values())  # database, -wal, log
    finally:
        KeyringVault(backend=secret_service_keyring).delete("app:acme", ["cfg:client_secret"])


def test_an_env_reference_set_on_the_command_line_resolves_when_the_test_runs(cli, data_dir):
    """`--set port='${env:…}'` is saved as written; `connhub test` without the variable is a config error naming
    it, with it the machine's Redis answers."""
    require_service("redis", "127.0.0.1", 6379)
    added = cli(data_dir, "add", "redis", "cache", "--set", "host=127.0.0.1",
                    "--set", "port=${env:CONNHUB_TEST_REDIS_PORT}", "--no-prompt")
    assert added.returncode == 0, added.stderr
    unset, shown = cli.many(data_dir, ("test", "cache", "--json"), ("show", "cache", "--json"))
    assert json.loads(shown.stdout)["config"]["port"] == "${env:CONNHUB_TEST_REDIS_PORT}"
    assert unset.returncode == 1
    result = json.loads(unset.stdout)
    assert result["error_class"] == "config"
    assert "CONNHUB_TEST_REDIS_PORT" in result["message"] and "not set" in result["message"]
    ok = cli(data_dir, "test", "cache", "--json", env={"CONNHUB_TEST_REDIS_PORT": "6379"})
    assert ok.returncode == 0, ok.stdout
    assert json.loads(ok.stdout)["ok"] is True


def test_url_stdin_from_a_terminal_is_typed_hidden(cli, data_dir, secret_service_keyring, fake):
    pty = pytest.importorskip("pty")
    import fcntl
    import termios

    password = fake.password(length=16, special_chars=False)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "connhub", "add", "redis", "cache", "--url-stdin"],
                            stdin=slave, stdout=slave, stderr=slave, env=_env(data_dir), start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0), close_fds=True)
    os.close(slave)
    output = b""

    def read_until(predicate, deadline: float) -> None:
        nonlocal output
        while not predicate() and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    return
                if not chunk:
                    return
                output += chunk

    try:
        read_until(lambda: b"Connection URL:" in output, time.monotonic() + 20)
        assert b"Connection URL:" in output, output
        os.write(master, f"redis://:{password}@127.0.0.1:6379/1\n".encode())
        read_until(lambda: proc.poll() is not None and b"Saved" in output, time.monotonic() + 20)
        read_until(lambda: False, time.monotonic() + 0.5)  # drain
        assert proc.wait(timeout=10) == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = output.decode(errors="replace")
    assert "Saved cache (redis) redis://127.0.0.1:6379/1" in text
    assert password not in text  # not echoed while typed, nor printed after
    detail = json.loads(cli(data_dir, "show", "cache", "--json").stdout)
    try:
        assert secret_service_keyring.get_password("connhub", f"{detail['id']}:password") == password
    finally:
        KeyringVault(backend=secret_service_keyring).delete(detail["id"], ["password"])


def test_workspaces_separate_instances_in_the_cli(cli, data_dir):
    assert cli(data_dir, "add", "redis", "cache", "--set", "host=a.example", "--set", "port=6379",
                   "--no-prompt", "--env", "prod").returncode == 0
    created = cli(data_dir, "workspaces", "--create", "client x")
    assert created.returncode == 0 and "client x" in created.stdout
    same_name = cli(data_dir, "-w", "client x", "add", "redis", "cache", "--set", "host=b.example",
                        "--set", "port=6379", "--no-prompt")
    assert same_name.returncode == 0, same_name.stderr  # names are unique per workspace only
    listed, other, names = cli.many(data_dir, ("list", "--json"), ("--workspace", "client x", "list", "--json"),
                                    ("workspaces", "--json"))
    assert [(r["summary"], r["environment"]) for r in json.loads(listed.stdout)] == [("redis://a.example:6379/0", "prod")]
    assert [(r["summary"], r["workspace"]) for r in json.loads(other.stdout)] == [("redis://b.example:6379/0", "client x")]
    assert json.loads(names.stdout) == ["client x", "default"]
    env_run = cli(data_dir, "list", env={"CONNHUB_WORKSPACE": "client x"})
    assert "b.example" in env_run.stdout and "a.example" not in env_run.stdout


# --- the process itself ---------------------------------------------------------------------------------------

def test_the_installed_entry_point_and_python_m_give_the_exit_codes_a_shell_sees(data_dir):
    """0, 1 and 2 as a script's `$?`, through the `connhub` console script (when installed beside this Python)
    and `python -m connhub`; without a terminal, `add` asks for nothing and saves without the secret."""
    entry = Path(sys.executable).with_name("connhub")
    command = [str(entry)] if entry.is_file() else [sys.executable, "-m", "connhub"]
    closed = free_port()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=_env(data_dir), timeout=30,
                              stdin=subprocess.DEVNULL)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"connhub {__version__}"
    added = run("add", "postgres", "down", "--set", "host=127.0.0.1", "--set", f"port={closed}")
    assert added.returncode == 0, added.stderr
    assert "Saved down (postgres)" in added.stdout and "Password" not in added.stdout + added.stderr
    failed, missing = run("test", "down"), run("show", "nope")
    assert failed.returncode == 1 and "FAIL  down" in failed.stdout
    assert missing.returncode == 2 and missing.stderr.startswith("connhub: No instance named 'nope'")
    listed = run_cli(data_dir, "list", "--json")  # python -m connhub
    assert listed.returncode == 0 and [i["name"] for i in json.loads(listed.stdout)] == ["down"]
    unknown = run_cli(data_dir, "frobnicate")
    assert unknown.returncode == 2 and "invalid choice: 'frobnicate'" in unknown.stderr


def test_main_run_twice_in_one_process_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """main() may run many times in one process (these tests, a script): each run closes its Hub and its log
    file and puts --data-dir's environment variable back, so one run never writes into another's data dir."""
    import logging

    from connhub.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("CONNHUB_DATA_DIR", str(tmp_path / "env"))
    logger = logging.getLogger("connhub")
    handlers = list(logger.handlers)
    assert main(["--data-dir", str(first), "add", "redis", "one", "--set", "host=h1", "--no-prompt"]) == 0
    assert os.environ["CONNHUB_DATA_DIR"] == str(tmp_path / "env")
    assert logger.handlers == handlers
    size = (first / "connhub.log").stat().st_size
    assert main(["--data-dir", str(second), "add", "redis", "two", "--set", "host=h2", "--no-prompt"]) == 0
    assert logger.handlers == handlers and (first / "connhub.log").stat().st_size == size
    assert main(["--data-dir", str(first), "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert [i["name"] for i in json.loads(out[out.index("["):])] == ["one"]
    assert not (tmp_path / "env").exists()


def test_help_and_the_parser_import_no_command_work():
    """`connhub --help` builds the whole parser from every command module, and stays light: no Hub, no
    SQLAlchemy, no asyncio, no driver; a command's modules are imported when it runs."""
    code = ("import sys, contextlib, io\n"
            "from connhub.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        main(['--help'])\n    except SystemExit as exc:\n        assert exc.code == 0\n"
            "heavy = ('asyncio', 'sqlalchemy', 'connhub.services.hub', 'connhub.plugins.registry', 'connhub.core',\n"
            "         'keyring', 'jsonschema', 'yaml')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
            "print(all(c in out.getvalue() for c in ('list', 'import', 'validate-event', 'runs', 'signin')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          env=_env(Path("/nonexistent")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True"]


def test_list_without_the_hub_says_exactly_what_the_hub_says(cli, tmp_path, monkeypatch):
    """`connhub list` reads the default SQLite file with sqlite3 (cli/instances.py quick_list); the same file
    through a database URL takes the full path (SQLAlchemy, the Hub). Both print the same, text and JSON, and
    a journal note left by a killed process sends list down the full path, which settles it."""
    from connhub.cli import instances

    data_dir = tmp_path / "data"
    for name, host in (("cache-10", "h10"), ("Cache-2", "h2"), ("cache-1", "h1")):
        assert cli(data_dir, "add", "redis", name, "--set", f"host={host}", "--tag", "web").returncode == 0
    assert cli(data_dir, "-w", "staging", "add", "redis", "other", "--set", "host=x").returncode == 0
    full_env = {"CONNHUB_DB_URL": f"sqlite:///{data_dir / 'connhub.db'}"}
    quick_calls = []
    original = instances.quick_list
    monkeypatch.setattr(instances, "quick_list", lambda args: quick_calls.append(original(args)) or quick_calls[-1])
    for args in (("list",), ("list", "--json"), ("-w", "staging", "list"), ("-w", "nowhere", "list")):
        quick, full = cli(data_dir, *args), cli(data_dir, *args, env=full_env)
        assert tuple(quick) == tuple(full), args
    assert quick_calls.count(None) == 4 and len(quick_calls) == 8  # the URL runs went the full way, the rest not
    assert "Cache-2" in cli(data_dir, "list").stdout

    import sqlite3

    with sqlite3.connect(data_dir / "connhub.db") as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('keyring-journal:x', '{\"fields\": []}')")
    quick_calls.clear()
    assert cli(data_dir, "list").returncode == 0
    assert quick_calls == [None]  # a note to settle: the full path ran
    with sqlite3.connect(data_dir / "connhub.db") as conn:
        assert conn.execute("SELECT count(*) FROM settings WHERE key LIKE 'keyring-journal:%'").fetchone() == (0,)


def test_show_url_prints_each_style_without_the_password(cli, tmp_path, memory_keyring):
    """Issue 24: a pasted JDBC URL (password as a query parameter) is saved with the password in the keyring;
    `show --url --format …` prints the connection in each style, read back the same, never the password."""
    data_dir = tmp_path / "data"
    added = cli(data_dir, "add", "postgres", "orders", "--url-env", "DATABASE_URL",
                env={"DATABASE_URL": "jdbc:postgresql://db.example.com:6432/orders?user=app&password=Canary-55e1"
                                     "&sslmode=require"})
    assert added.returncode == 0, added.stderr
    shown = {style: cli(data_dir, "show", "orders", "--url", "--format", style).stdout.strip()
             for style in ("url", "libpq", "jdbc", "sqlalchemy", "command")}
    assert shown == {
        "url": "postgres://app@db.example.com:6432/orders?sslmode=require",
        "libpq": "host=db.example.com port=6432 dbname=orders user=app sslmode=require",
        "jdbc": "jdbc:postgresql://db.example.com:6432/orders?user=app&sslmode=require",
        "sqlalchemy": "postgresql+psycopg://app@db.example.com:6432/orders?sslmode=require",
        "command": "psql 'host=db.example.com port=6432 dbname=orders user=app sslmode=require'  # password: "
                   "$PGPASSWORD",
    }
    assert cli(data_dir, "add", "redis", "cache", "--set", "host=cache").returncode == 0
    refused = cli(data_dir, "show", "cache", "--url", "--format", "libpq")
    assert refused.returncode == 2 and "has no libpq form; it has: url" in refused.stderr
    assert cli(data_dir, "show", "cache", "--url", "--format", "command").stdout.strip() == \
        "redis-cli -h cache -p 6379 -n 0  # password: $REDISCLI_AUTH"


def test_list_parses_with_its_own_commands_only(cli, data_dir):
    """`connhub [-w W] list` builds only the instance commands' parser: no other command module is imported
    (each costs its import on every call of a script's loop); its options and errors are the same."""
    assert cli(data_dir, "add", "redis", "cache", "--set", "host=cache").returncode == 0
    code = ("import sys\nfrom connhub.cli import main, GROUPS\n"
            "assert main(['-w', 'default', 'list', '--json']) == 0\n"
            "print(sorted(g for g in GROUPS if f'connhub.cli.{g}' in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=_env(data_dir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["name"] == "cache"
    imported = set(ast.literal_eval(done.stderr.strip().splitlines()[-1]))
    assert imported <= {"instances", "monitor"}, imported  # its JSON says how a connection is monitored
    refused = cli(data_dir, "list", "--no-such-option")
    assert refused.returncode == 2 and "unrecognized arguments: --no-such-option" in refused.stderr


def test_version_through_the_entry_point_imports_no_asyncio():
    """`connhub --version` goes through connhub.launch (the installed entry point): telling the window's test
    worker argument apart from a command must not import the worker (asyncio, ~40 ms of every call)."""
    code = ("import sys, contextlib, io\n"
            "from connhub.launch import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        main(['--version'])\n    except SystemExit as exc:\n        assert exc.code == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('asyncio', 'sqlalchemy', 'ssl')))\n"
            "print(out.getvalue().startswith('connhub '))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          env=_env(Path("/nonexistent")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True"]
