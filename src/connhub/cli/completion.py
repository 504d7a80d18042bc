"""`connhub completion bash|zsh|fish`: tab completion of commands, options, saved instance names, type names
and a type's actions, through argcomplete (it reads the parser itself, so a new command completes at once).

The shell calls `connhub` with _ARGCOMPLETE set; `complete` answers and exits before any command runs. Names
come from the quick readers the window's first paint uses (storage/quick.py, plugins/catalog.py): a Tab
must not wait for SQLAlchemy or the manifests' validation.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from connhub.cli.common import EXIT_OK

SHELLS = ("bash", "zsh", "fish")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("completion", help="print the shell code that completes connhub's commands and names")
    p.add_argument("shell", choices=SHELLS, help='e.g. eval "$(connhub completion bash)" in ~/.bashrc')


def cmd_completion(_hub, args) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["connhub"], shell=args.shell))
    return EXIT_OK


def complete(parser: argparse.ArgumentParser, **options: Any) -> None:
    """Answer the shell's completion request (argcomplete exits afterwards unless `exit_method` says not)."""
    import argcomplete

    _attach(parser)
    options.setdefault("always_complete_options", False)  # options when a '-' is typed, names otherwise
    argcomplete.autocomplete(parser, **options)


def _attach(parser: argparse.ArgumentParser) -> None:
    """Completers by argument: instance names, type names, a saved instance's actions."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                for arg in sub._actions:
                    if arg.dest in ("name", "names") and command != "add":
                        arg.completer = _instance_names
                    elif arg.dest == "type":
                        arg.completer = _type_names
                    elif arg.dest == "target":
                        arg.completer = lambda **kw: _type_names(**kw) + _instance_names(**kw)
                    elif arg.dest == "action" and command == "run":
                        arg.completer = _action_names


def _records(parsed_args: Any) -> list:
    from connhub.services.first_paint import DB_NAME, default_data_dir
    from connhub.services.team import CONFIG_NAME
    from connhub.storage.quick import read_instances

    data_dir = getattr(parsed_args, "data_dir", None) or default_data_dir()
    workspace = " ".join(str(getattr(parsed_args, "workspace", "") or "").split()) or "default"
    if os.environ.get("CONNHUB_DB_URL") or (data_dir / CONFIG_NAME).exists() or not (data_dir / DB_NAME).is_file():
        return []  # a server catalog is not opened for a Tab
    return read_instances(data_dir / DB_NAME, workspace) or []


def _instance_names(parsed_args: Any = None, **_: Any) -> list[str]:
    return [r.name for r in _records(parsed_args)]


def _type_names(**_: Any) -> list[str]:
    from connhub.plugins.catalog import read_listing
    from connhub.services.first_paint import CACHE_NAME, default_data_dir

    return [s.type for s in read_listing(default_data_dir() / CACHE_NAME).summaries()]


def _action_names(parsed_args: Any = None, **_: Any) -> list[str]:
    record = next((r for r in _records(parsed_args) if r.name == getattr(parsed_args, "name", None)), None)
    if record is None:
        return []
    from connhub.plugins.registry import Registry

    entry = Registry.discover().get(record.type)
    return [a.name for a in entry.manifest.actions] if entry.manifest else []
