"""Tab completion (issue 22): commands, saved instance names, type names and a saved instance's actions, as
bash, zsh and fish ask for them through argcomplete; and the shell code `connhub completion SHELL` prints."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from connhub.cli import build_parser
from connhub.cli.completion import complete


@pytest.fixture
def tab(monkeypatch, tmp_path):
    """tab("connhub show ca") → the completions the shell would offer at the end of that line."""
    import argcomplete.finders
    import argcomplete.io

    # argcomplete writes its debug stream to fd 9, which the shell opens; in pytest that fd is someone else's.
    monkeypatch.setattr(argcomplete.finders.CompletionFinder, "_init_debug_stream",
                        lambda self: setattr(argcomplete.io, "debug_stream", sys.stderr))

    def run(line: str) -> list[str]:
        monkeypatch.setenv("_ARGCOMPLETE", "1")
        monkeypatch.setenv("COMP_LINE", line)
        monkeypatch.setenv("COMP_POINT", str(len(line)))
        monkeypatch.setenv("_ARGCOMPLETE_IFS", "\n")
        out = io.StringIO()
        complete(build_parser(), output_stream=out, exit_method=lambda *_: None)
        return sorted(word.strip() for word in out.getvalue().split("\n") if word.strip())

    return run


@pytest.fixture
def saved(cli, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    for name in ("cache-1", "cache-2", "orders"):
        kind = "postgres" if name == "orders" else "redis"
        assert cli(data_dir, "add", kind, name, "--set", "host=127.0.0.1").returncode == 0
    monkeypatch.setenv("CONNHUB_DATA_DIR", str(data_dir))
    return data_dir


def test_commands_complete(tab, saved):
    assert {"show", "shell"} & set(tab("connhub sh")) == {"show"}
    assert "completion" in tab("connhub com")


def test_saved_names_complete_where_a_name_goes(tab, saved):
    assert tab("connhub show ca") == ["cache-1", "cache-2"]
    assert tab("connhub test cache-1 or") == ["orders"]  # several names
    assert tab("connhub run or") == ["orders"]
    assert tab("connhub add redis ca") == []  # a new name is not one of the saved


def test_types_and_a_saved_instances_actions_complete(tab, saved):
    assert tab("connhub add re") == ["redis"]
    assert "--json" in tab("connhub show orders --j")  # options once a '-' is typed
    assert tab("connhub run cache-1 ") == ["delete", "get", "keys", "set"]
    assert tab("connhub run orders q") == ["query"]


def test_a_tab_after_the_bare_command_opens_no_window(saved):
    """`connhub <Tab>`: launch.main must not take the empty argument list for the window."""
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": "connhub ", "COMP_POINT": "8",
           "_ARGCOMPLETE_IFS": "\n", "QT_QPA_PLATFORM": "offscreen"}
    read, write = os.pipe()
    done = subprocess.run([sys.executable, "-c", "import os; os.dup2(int(os.environ['FD']), 8); "
                           "from connhub.launch import main; main()"],
                          env={**env, "FD": str(write)}, pass_fds=(write,), capture_output=True, timeout=30)
    os.close(write)
    offered = os.read(read, 1 << 16).decode()
    os.close(read)
    assert done.returncode == 0, done.stderr
    assert "list" in offered.split("\n") and "PySide6" not in done.stderr.decode()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_code(cli, tmp_path, shell):
    code, out, _err = cli(tmp_path, "completion", shell)
    assert code == 0
    assert "connhub" in out and "_ARGCOMPLETE" in out
