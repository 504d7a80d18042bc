"""The real `connhub` command line, run in a subprocess as a script or CI job would run it.

Secrets reach the throwaway Secret Service of scripts/with-test-keyring (the subprocess inherits its
D-Bus session); tests that store a secret skip without one, and fail under CONNHUB_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

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
from connhub.storage.vault import SecretVault
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

def test_version_and_types(data_dir):
    version, types, types_json = run_many(data_dir, ("--version",), ("types",), ("types", "--json"))
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


def test_add_list_show(data_dir):
    added = run_cli(data_dir, "add", "redis", "cache", "--set", "host=127.0.0.1", "--set", "port=6379",
                    "--tag", "team")
    assert added.returncode == 0, added.stderr
    assert "Saved cache (redis)" in added.stdout

    listed, listed_json, shown, shown_json, again = run_many(
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

def test_usage_errors_exit_2_with_a_helpful_message(data_dir):
    # At once: only `show` opens (and creates) the database, the others stop before it.
    secret_arg, no_equals, unknown, invalid, no_names, zero_timeout, missing_show, bad_env = run_many(
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
    assert zero_timeout.returncode == 2 and "--timeout must be a positive number" in zero_timeout.stderr
    assert missing_show.returncode == 2 and "No instance named 'nope'" in missing_show.stderr
    assert bad_env.returncode == 2 and "CONNHUB_TEST_UNSET_VARIABLE" in bad_env.stderr
    listed = run_cli(data_dir, "list")  # nothing was saved by any of them
    assert listed.returncode == 0 and "No instances yet. Add one with `connhub add TYPE NAME`" in listed.stdout


# --- secrets ------------------------------------------------------------------------------------------------

def test_secrets_from_stdin_and_env_are_masked_and_removed_with_the_instance(data_dir, secret_service_keyring,
                                                                            fake):
    token, env_token = fake.sha256(), fake.password(length=24)
    added = run_cli(data_dir, "add", "http", "api", "--set", "base_url=https://api.example.com/v1",
                    "--set", "auth.method=bearer", "--secret-stdin", "auth.token", stdin=token + "\n")
    assert added.returncode == 0, added.stderr
    from_env = run_cli(data_dir, "add", "http", "api2", "--set", "base_url=https://api.example.com/v2",
                       "--set", "auth.method=bearer", "--secret-env", "auth.token=MY_API_TOKEN",
                       env={"MY_API_TOKEN": env_token})
    assert from_env.returncode == 0, from_env.stderr
    listed, shown, shown_json = run_many(data_dir, ("list", "--json"), ("show", "api"), ("show", "api", "--json"))
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

        removed = run_cli(data_dir, "remove", "api")
        assert removed.returncode == 0 and "Removed api" in removed.stdout
        assert secret_service_keyring.get_password("connhub", f"{ids['api']}:auth.token") is None
        assert [i["name"] for i in json.loads(run_cli(data_dir, "list", "--json").stdout)] == ["api2"]
    finally:
        for instance_id in ids.values():
            SecretVault(backend=secret_service_keyring).delete(instance_id, ["auth.token"])


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


def test_the_password_prompt_hides_what_is_typed(data_dir, secret_service_keyring, fake):
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
    detail = json.loads(run_cli(data_dir, "show", "db", "--json").stdout)
    assert detail["config"]["password"] == MASK
    try:
        assert secret_service_keyring.get_password("connhub", f"{detail['id']}:password") == password
    finally:
        SecretVault(backend=secret_service_keyring).delete(detail["id"], ["password"])


# --- tests --------------------------------------------------------------------------------------------------

def test_test_reports_json_and_exit_codes(data_dir):
    require_service("redis", "127.0.0.1", 6379)
    closed = free_port()
    assert run_cli(data_dir, "add", "redis", "up", "--set", "host=127.0.0.1", "--set", "port=6379").returncode == 0
    assert run_cli(data_dir, "add", "redis", "down", "--set", "host=127.0.0.1",
                   "--set", f"port={closed}").returncode == 0

    up, down, every = run_many(data_dir, ("test", "up", "--json"), ("test", "down", "--json"), ("test", "--all"))

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


def test_timeout_option_is_honoured(data_dir):
    from tests.support.servers import blackhole_server

    with blackhole_server() as (host, port):
        start = time.monotonic()
        assert run_cli(data_dir, "add", "redis", "hole", "--set", f"host={host}",
                       "--set", f"port={port}").returncode == 0
        startup = time.monotonic() - start  # what a command costs on this (shared, noisy) machine
        start = time.monotonic()
        done = run_cli(data_dir, "test", "hole", "--json", "--timeout", "1")
        elapsed = time.monotonic() - start
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["error_class"] == "timeout" and "1 s" in result["message"]
    assert result["latency_ms"] < 1800
    assert elapsed < max(3.0, startup + 2.0), f"--timeout 1 took {elapsed:.1f} s (start-up {startup:.1f} s)"


# --- settings and the data dir -----------------------------------------------------------------------------

def test_settings_timeout_persists(data_dir):
    changed = run_cli(data_dir, "settings", "--timeout", "5")
    assert changed.returncode == 0, changed.stderr
    shown, refused = run_many(data_dir, ("settings", "--json"), ("settings", "--timeout", "0"))
    data = json.loads(shown.stdout)
    assert data["default_timeout"] == 5.0 and data["data_dir"] == str(data_dir)
    assert refused.returncode == 2 and "between 0.1 and 600 seconds" in refused.stderr


def test_data_dir_option_works_like_the_environment_variable(tmp_path):
    chosen, other = tmp_path / "chosen", tmp_path / "other"
    added = run_cli(other, "--data-dir", str(chosen), "add", "redis", "cache", "--set", "host=127.0.0.1")
    assert added.returncode == 0, added.stderr
    assert (chosen / "connhub.db").is_file() and (chosen / "connhub.log").is_file()
    assert not (other / "connhub.db").exists()
    via_env = run_cli(chosen, "list", "--json")  # CONNHUB_DATA_DIR=chosen
    assert [i["name"] for i in json.loads(via_env.stdout)] == ["cache"]
