"""SSH's run_command against asyncssh's own server in a thread, which runs each command with a real /bin/sh."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import asyncssh
import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import (
    act,
    act_timed,
    assert_failed,
    assert_ok,
    cancel_action,
    run_saved,
    saved_hub,
)
from tests.integrations.ssh.conftest import SshServer, ssh_server
from tests.support.services import free_port

started: list[str] = []  # every command the server was asked to run
processes: list[asyncio.subprocess.Process] = []  # and the processes it started for them (this test)
every_process: list[asyncio.subprocess.Process] = []


async def shell(stdin: asyncssh.SSHReader, stdout: asyncssh.SSHWriter, stderr: asyncssh.SSHWriter) -> None:
    """Run the exec request's command with /bin/sh, as sshd does; killed when the client goes away."""
    channel = stdout.channel
    command = channel.get_command()
    started.append(command)
    proc = await asyncio.create_subprocess_shell(command, stdin=asyncio.subprocess.DEVNULL,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    processes.append(proc)
    every_process.append(proc)

    async def pump(source: asyncio.StreamReader, sink: asyncssh.SSHWriter) -> None:
        while chunk := await source.read(65536):
            sink.write(chunk.decode(errors="replace"))  # the server's channel speaks UTF-8 text
            await sink.drain()

    pumping = asyncio.ensure_future(asyncio.gather(pump(proc.stdout, stdout), pump(proc.stderr, stderr)))
    closed = asyncio.ensure_future(channel.wait_closed())
    try:
        await asyncio.wait([pumping, closed], return_when=asyncio.FIRST_COMPLETED)
        if pumping.done():
            channel.exit(await proc.wait())
    except (OSError, asyncssh.Error):
        pass
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        pumping.cancel()
        closed.cancel()
        proc._transport.close()  # noqa: SLF001 - its pipes too, while this loop still runs


@pytest.fixture(scope="module")
def shelld(tmp_path_factory) -> Iterator[SshServer]:
    """Without SFTP: asyncssh hands sessions to `session_requested` (our shell) only then."""
    with ssh_server(tmp_path_factory.mktemp("shelld"), sftp=False, session_factory=lambda: shell) as server:
        yield server
        for proc in every_process:  # none should be left; if one is, it must not outlive the server's loop
            if proc.returncode is None:
                proc.kill()
            proc._loop.call_soon_threadsafe(proc._transport.close)  # noqa: SLF001
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def _forget_commands():
    started.clear()
    processes.clear()


def pinned(server, **changes) -> dict:
    return {"host": server.host, "port": server.port, "user": "alice", "auth.method": "password",
            "host_key_policy": "fingerprint", "host_key_fingerprint": server.fingerprint, **changes}


def secret(server) -> dict:
    return {"auth.password": server.password}


def test_stdout_stderr_and_exit_status_come_back(registry, shelld, fake):
    word = fake.word()
    got = assert_ok(act(registry, "ssh", "run_command", {"command": f"echo {word}; echo oops >&2; exit 3"},
                        pinned(shelld), secret(shelld)))
    assert got == {"stdout": f"{word}\n", "stderr": "oops\n", "exit_status": 3, "signal": None,
                   "stdout_truncated": False, "stderr_truncated": False, "closed_early": False}
    assert started == [f"echo {word}; echo oops >&2; exit 3"]


def test_output_past_the_cap_is_cut_and_says_so_and_the_command_still_finishes(registry, shelld):
    got = assert_ok(act(registry, "ssh", "run_command", {"command": "head -c 300000 /dev/zero | tr '\\0' x; echo",
                                                         "max_output_bytes": 1000}, pinned(shelld), secret(shelld)))
    assert got["stdout"] == "x" * 1000 and got["stdout_truncated"] and got["exit_status"] == 0
    assert not got["stderr_truncated"] and not got["closed_early"]


def test_a_command_over_its_time_limit_is_a_timeout(registry, shelld):
    done, took = act_timed(registry, "ssh", "run_command", {"command": "sleep 20", "timeout": 0.5},
                           pinned(shelld), secret(shelld), timeout=10)
    assert_failed(done, "timeout")
    assert "0.5 s" in done.message and took < 3


def test_a_wrong_password_is_auth_and_no_command_runs(registry, shelld, fake):
    wrong = fake.password(length=16)
    assert_failed(act(registry, "ssh", "run_command", {"command": "echo hi"}, pinned(shelld),
                      {"auth.password": wrong}), "auth", wrong)
    assert started == []


def test_a_wrong_host_key_is_refused_before_any_credential(registry, shelld):
    other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    done = act(registry, "ssh", "run_command", {"command": "echo hi"},
               pinned(shelld, host_key_fingerprint=other), secret(shelld))
    assert_failed(done, "config", shelld.password)
    assert "mismatch" in done.message and started == []


def test_bad_params_are_per_field_and_nothing_runs(registry, shelld):
    with pytest.raises(InvalidParams) as caught:
        act(registry, "ssh", "run_command", {"command": "", "timeout": 0, "max_output_bytes": 0},
            pinned(shelld), secret(shelld))
    assert set(caught.value.errors) == {"command", "timeout", "max_output_bytes"}
    assert started == []


def test_a_closed_port_is_refused_within_the_timeout(registry, shelld):
    done, took = act_timed(registry, "ssh", "run_command", {"command": "true"},
                           pinned(shelld, port=free_port()), secret(shelld), timeout=2)
    assert_failed(done, "refused")
    assert took < 2


def test_a_cancel_lands_at_once_and_the_remote_command_is_stopped(registry, shelld):
    assert cancel_action(registry, "ssh", "run_command", {"command": "sleep 20"}, pinned(shelld), secret(shelld),
                         after=0.7) < 0.2
    assert started == ["sleep 20"]
    deadline = time.monotonic() + 3
    while processes[0].returncode is None and time.monotonic() < deadline:  # the server saw the channel close
        time.sleep(0.05)
    assert processes[0].returncode is not None


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, shelld, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("ssh", "box", {**pinned(shelld), **secret(shelld)})
        done = run_saved(hub, record, "run_command", {"command": "echo from-the-hub"})
        assert done.ok and done.result["stdout"] == "from-the-hub\n"
        [logged] = hub.actions.history(record.id)
        assert json.loads(logged.preview)["stdout"] == "from-the-hub\n"
        assert shelld.password not in json.dumps([logged.params, logged.preview, logged.message])
