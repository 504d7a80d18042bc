"""`connhub monitor` and `connhub watch`, run as real subprocesses against a redis-server the test stops and starts."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary
from tests.test_cli import _env


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


class Watch:
    """A running `connhub watch`: read its lines with a deadline, stop it with a signal like a user would."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None):
        self.process = subprocess.Popen([sys.executable, "-u", "-m", "connhub", "watch", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=_env(data_dir, env))
        self.lines: list[str] = []

    def line(self, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.process.stdout], [], [], 0.1)[0]:
                line = self.process.stdout.readline()
                if line:
                    self.lines.append(line)
                    return line.rstrip("\n")
            if self.process.poll() is not None:
                break
        raise AssertionError(f"no line within {timeout} s; so far {self.lines}; stderr: {self.stop(signal.SIGKILL)}")

    def json(self, timeout: float = 20) -> dict:
        return json.loads(self.line(timeout))

    def stop(self, sig=signal.SIGINT) -> str:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
        return err


def make_hub(data_dir: Path, backend=None) -> Hub:
    """Instances are set up in-process (a subprocess per `connhub add` costs a second or more); the commands
    under test always run as subprocesses."""
    return Hub(data_dir=data_dir, registry=Registry.discover(plugins=False), vault=KeyringVault(backend=backend))


def add_redis(data_dir: Path, name: str, port: int, monitored: bool = False) -> str:
    hub = make_hub(data_dir)
    try:
        record = hub.instances.create("redis", name, {"host": "127.0.0.1", "port": port})
        if monitored:
            hub.instances.set_monitoring(record.id, True)
        return record.id
    finally:
        hub.close()


def find(data_dir: Path, name: str):
    hub = make_hub(data_dir)
    try:
        return hub.instances.find(name)
    finally:
        hub.close()


def test_monitor_turns_monitoring_on_and_off_and_show_and_list_say_so(cli, data_dir):
    add_redis(data_dir, "cache", 6379)
    on = cli(data_dir, "monitor", "cache", "--on", "--every", "5")
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "cache: monitoring every 5 min (due now)"
    shown, listed, as_json, zero = cli.many(
        data_dir, ("show", "cache"), ("list", "--json"), ("monitor", "cache", "--json"),
        ("monitor", "cache", "--every", "0"))
    assert "monitoring    every 5 min (due now)" in shown.stdout
    [item] = json.loads(listed.stdout)
    assert (item["monitor_enabled"], item["monitor_interval_min"], item["monitor_next_run_at"]) == (True, 5, None)
    assert json.loads(as_json.stdout) == {"name": "cache", "type": "redis", "monitor_enabled": True,
                                          "monitor_interval_min": 5, "monitor_next_run_at": None}
    assert zero.returncode == 2 and "--every: Must be a whole number of minutes from 1 to 1440" in zero.stderr
    off = cli(data_dir, "monitor", "cache", "--off")
    assert off.stdout.strip() == "cache: monitoring off (interval 5 min when on)"
    assert find(data_dir, "cache").monitor_enabled is False


def test_watch_json_prints_failing_then_ok_as_the_server_stops_and_starts_and_ctrl_c_exits_0(data_dir):
    require_binary("redis-server", "redis-server")
    port = free_port()
    add_redis(data_dir, "cache", port, monitored=True)
    add_redis(data_dir, "unwatched", port)
    watch = Watch(data_dir, "--json", "--interval", "0.3")
    try:
        first = watch.json()
        assert first["old"] is None and (first["name"], first["new"]) == ("cache", "untested")
        failing = watch.json()
        assert set(failing) == {"name", "type", "old", "new", "error_class", "message", "at"}
        assert (failing["name"], failing["type"], failing["old"], failing["new"], failing["error_class"]) == (
            "cache", "redis", "untested", "failing", "refused")
        with throwaway_redis(port):
            ok = watch.json()
            assert (ok["old"], ok["new"], ok["error_class"]) == ("failing", "ok", None)
        down = watch.json()
        assert (down["old"], down["new"], down["error_class"]) == ("ok", "failing", "refused")
    finally:
        err = watch.stop(signal.SIGINT)
    assert watch.process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert all(json.loads(line)["name"] == "cache" for line in watch.lines)  # monitoring off: not watched
    cache, unwatched = find(data_dir, "cache"), find(data_dir, "unwatched")
    assert (cache.status, unwatched.status) == ("failing", "untested")
    assert cache.monitor_next_run_at is None  # --interval keeps its schedule in memory


def test_watch_plain_lines_named_instances_sigterm_and_no_secret_printed(data_dir, secret_service_keyring):
    require_binary("redis-server", "redis-server")
    port = free_port()
    canary = "canary-Wt7q-never-print"
    hub = make_hub(data_dir, secret_service_keyring)
    record = hub.instances.create("redis", "locked", {"host": "127.0.0.1", "port": port, "password": canary})
    hub.close()
    try:
        with throwaway_redis(port, "--requirepass", "another-password"):
            watch = Watch(data_dir, "locked", "--interval", "0.5")
            try:
                assert watch.line().endswith("locked (redis): untested")
                changed = watch.line()
                assert "locked (redis): untested -> failing [auth]" in changed
            finally:
                err = watch.stop(signal.SIGTERM)
        assert watch.process.returncode == 0 and "Traceback" not in err, err
        assert canary not in "".join(watch.lines) + err
        log = (data_dir / "connhub.log").read_text()
        assert canary not in log
    finally:
        KeyringVault(backend=secret_service_keyring).delete(record.id, ["password"])


def test_usage_errors(cli, data_dir):
    add_redis(data_dir, "cache", 6379)
    unknown, both, negative, not_there = cli.many(data_dir, ("watch", "nope"), ("watch", "cache", "--all"),
                                                  ("watch", "--interval", "0"), ("monitor", "nope", "--on"))
    assert unknown.returncode == 2 and "No instance named 'nope'" in unknown.stderr
    assert not_there.returncode == 2 and "No instance named 'nope'" in not_there.stderr
    assert both.returncode == 2 and "not both" in both.stderr
    assert negative.returncode == 2 and "--interval must be" in negative.stderr


def test_watch_with_nothing_monitored_says_how_to_turn_it_on(data_dir):
    add_redis(data_dir, "cache", 6379)
    watch = Watch(data_dir)
    deadline = time.monotonic() + 20
    err = ""
    while time.monotonic() < deadline:
        if select.select([watch.process.stderr], [], [], 0.1)[0]:
            err = watch.process.stderr.readline()
            break
    rest = watch.stop(signal.SIGINT)
    assert "no instance has monitoring on" in err and "connhub monitor NAME --on" in err, err + rest
    assert watch.process.returncode == 0



def test_watch_runs_a_scheduled_workflow_when_its_slot_comes(cli, data_dir, tmp_path):
    """Schedules run while `connhub watch` runs (issue 18): a workflow every 10 s sets a key in the real Redis."""
    import secrets as tokens

    import redis

    add_redis(data_dir, "cache", 6379)
    key = f"connhub:watch:{tokens.token_hex(4)}"
    source = tmp_path / "every.yaml"
    source.write_text(f"name: every\nschedule: {{every: 10s}}\nsteps:\n"
                      f"  - {{id: mark, instance: cache, action: set, params: {{key: '{key}', value: tick}}}}\n")
    assert cli(data_dir, "workflow", "import", str(source))[0] == 0
    watch = Watch(data_dir, "--json")
    try:
        line = {}
        while "workflow" not in line:
            line = watch.json(timeout=25)
    finally:
        watch.stop(signal.SIGINT)
    assert line["workflow"] == "every" and line["status"] == "ok" and line["trigger"] == "schedule"
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert client.get(key) == b"tick"
    finally:
        client.delete(key)
        client.close()
