"""Fixtures shared by the whole suite: asyncio inside Qt, keyrings, and isolation from the user's files.

Run the suite with `make test`: it goes through scripts/with-test-keyring, which provides a throwaway GNOME
Keyring on a private D-Bus session (CONNHUB_TEST_KEYRING=secret-service). Without it, the keyring default
is forced to keyring's `fail` backend below, so no test can ever reach the user's own keyring.
"""

from __future__ import annotations

import asyncio
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

if os.environ.get("CONNHUB_TEST_KEYRING") != "secret-service":
    # Not inside scripts/with-test-keyring: the default keyring would be the user's real one. Refuse it.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

import keyring  # noqa: E402
import keyring.core  # noqa: E402
import pytest  # noqa: E402

from tests.support.keyrings import MemoryKeyring  # noqa: E402
from tests.support.services import missing  # noqa: E402

# ---- isolation -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir (CONNHUB_DATA_DIR) and config dir (XDG_CONFIG_HOME, QSettings),
    outside its tmp_path so tests that inspect tmp_path find only what they put there."""
    home = tmp_path_factory.mktemp("home")
    data, config = home / "data", home / "config"
    data.mkdir()
    config.mkdir()
    monkeypatch.setenv("CONNHUB_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("CONNHUB_DB_URL", raising=False)
    # Qt reads XDG_CONFIG_HOME once per process; point QSettings at this test's dir explicitly. Only when
    # Qt is already loaded: the Qt-free tests must not pay for importing it.
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QSettings

        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(config))
        QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(config))
    yield home


# ---- asyncio inside Qt (TESTING.md: one session loop, never stopped or closed) ----------------------

# qasync's already-running loop registers itself as asyncio's *running* loop for good, which would make
# every later `asyncio.run()` (CLI code, the driver tests and their module-scoped fixtures) raise "cannot
# be called from a running event loop". So the Qt loop is the running loop only during the set-up, call
# and teardown of tests that use it (directly or through `arun`); every other test runs without one.
_session_qloop: list = []


def _running_loop_for(item):
    loop = _session_qloop[0] if _session_qloop and "qloop" in item.fixturenames else None
    asyncio.events._set_running_loop(loop)
    if loop is not None:
        asyncio.set_event_loop(loop)  # an earlier asyncio.run() cleared it on its way out


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _running_loop_for(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    _running_loop_for(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    _running_loop_for(item)


@pytest.fixture(scope="session")
def qloop(qapp):
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)  # never stop() / run_until_complete()
    executor = qasync.QThreadExecutor(4)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    _session_qloop.append(loop)
    yield loop
    executor.shutdown(wait=True)


@pytest.fixture
def arun(qtbot, qloop):
    """arun(coro, timeout=5000) → the coroutine's result, run on the session's Qt event loop."""

    def run(coro, timeout=5000):
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    return run


# ---- keyrings ----------------------------------------------------------------------------------------


@pytest.fixture
def memory_keyring():
    """An in-memory keyring installed as keyring's default for the test; yields it for inspection."""
    previous = keyring.core._keyring_backend  # None = not chosen yet: keep it lazy, touch no D-Bus
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.core._keyring_backend = previous


@pytest.fixture(scope="session")
def _secret_service_problem() -> str | None:
    """Why the throwaway Secret Service cannot be used, or None (checked once per session)."""
    if os.environ.get("CONNHUB_TEST_KEYRING") != "secret-service":
        return ("no throwaway Secret Service: run the tests with `make test` "
                "(or scripts/with-test-keyring .venv/bin/python -m pytest …)")
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 — raises when the service is neither running nor activatable
        probe = SecretService.Keyring()
        probe.set_password("connhub-test-probe", "probe", "ok")
        ok = probe.get_password("connhub-test-probe", "probe") == "ok"
        probe.delete_password("connhub-test-probe", "probe")
    except Exception as exc:  # noqa: BLE001 — any failure means "not usable", with its reason
        return f"the Secret Service does not answer: {type(exc).__name__}: {exc}"
    return None if ok else "the Secret Service did not return what was stored"


@pytest.fixture
def secret_service_keyring(_secret_service_problem):
    """keyring's SecretService backend, talking to the throwaway GNOME Keyring of with-test-keyring.

    Skips without one (fails under CONNHUB_REQUIRE_SERVICES=1). The keyring is shared by the whole run,
    and by both xdist workers: use unique user names (an instance UUID) and delete what you store."""
    if _secret_service_problem:
        missing(_secret_service_problem)
    from keyring.backends import SecretService

    return SecretService.Keyring()


# ---- the command line, in this process ------------------------------------------------------------------

class CliRun(tuple):
    """What one `connhub` command did: unpacks as (code, out, err); also .returncode, .stdout, .stderr, as a
    subprocess.CompletedProcess has them, so a test reads the same either way."""

    def __new__(cls, code: int, out: str, err: str):
        return super().__new__(cls, (code, out, err))

    returncode = property(lambda self: self[0])
    stdout = property(lambda self: self[1])
    stderr = property(lambda self: self[2])


@pytest.fixture
def cli(capsys, monkeypatch):
    """cli(data_dir, *args, stdin="", env={}) → CliRun: `connhub.cli.main(args)` in this process, as
    `python -m connhub ARGS` would run with CONNHUB_DATA_DIR=data_dir (milliseconds instead of ~0.7 s of
    start-up). Standard input is a text stream over bytes (so `sys.stdin.buffer` works) and never a terminal;
    `env` is set for that one command; PYTHON_KEYRING_BACKEND in it picks the keyring as it would in a child.
    `cli.many(data_dir, (args…), …)` runs several one after the other."""
    import io

    import keyring.core

    from connhub.cli import main

    def run(data_dir, *args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None) -> CliRun:
        capsys.readouterr()
        raw = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        cwd = os.getcwd()
        with pytest.MonkeyPatch.context() as scoped:
            scoped.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
            scoped.delenv("CONNHUB_DB_URL", raising=False)
            scoped.setenv("CONNHUB_DATA_DIR", str(data_dir))
            for key, value in (env or {}).items():
                scoped.setenv(key, value)
            previous = keyring.core._keyring_backend
            if env and "PYTHON_KEYRING_BACKEND" in env:
                keyring.set_keyring(keyring.core.load_keyring(env["PYTHON_KEYRING_BACKEND"]))
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --version, --help, a usage error of the parser itself
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            finally:
                keyring.core._keyring_backend = previous
                os.chdir(cwd)
        out, err = capsys.readouterr()
        return CliRun(code, out, err)

    run.many = lambda data_dir, *commands: [run(data_dir, *command) for command in commands]
    return run
