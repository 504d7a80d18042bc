"""`connhub`: the GUI by default, and sub-commands for scripts and CI over the same services.

Exit codes: 0 success, 1 a test failed (or an operation was refused), 2 a usage error.
Secrets are never taken from arguments: a hidden prompt, `--secret-stdin FIELD` or `--secret-env FIELD=VAR`.

One module per group of commands (cli/instances.py, probing.py, types.py, config.py, workspaces.py,
monitor.py, transfer.py, actions.py, oauth.py, plugins.py), each with `add_parsers(sub)` and its `cmd_*`
functions. Those modules import only the standard library at the top, so building the parser stays light; what
a command needs (the Hub, SQLAlchemy, a driver) is imported when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from connhub import __version__
from connhub.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, MASK, UsageError, safe

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "MASK", "UsageError", "build_parser", "main"]

#: The command modules, in the order their commands are listed by `connhub --help`.
GROUPS = ("instances", "probing", "types", "config", "workspaces", "monitor", "transfer", "actions", "webhooks",
          "workflows", "oauth", "plugins", "team", "secrets", "completion")


def build_parser(groups: tuple[str, ...] = GROUPS) -> argparse.ArgumentParser:
    """The whole command line; with `groups`, only those modules' commands (the rest is not imported)."""
    parser = argparse.ArgumentParser(prog="connhub", description="Manage and test connections to services.")
    parser.add_argument("--version", action="version", version=f"connhub {__version__}")
    parser.add_argument("--data-dir", type=Path, help="where connhub keeps its database (default: the "
                        "platform's user data dir; also CONNHUB_DATA_DIR)")
    parser.add_argument("-w", "--workspace", default=os.environ.get("CONNHUB_WORKSPACE") or "default",
                        help="the workspace to work in (default: 'default'; also CONNHUB_WORKSPACE)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("gui", help="open the window (the default)")
    for group in groups:
        importlib.import_module(f"connhub.cli.{group}").add_parsers(sub)
    return parser


#: Options before the command that take a value (`connhub -w staging list`).
_VALUED = {"-w", "--workspace", "--data-dir"}


def _command_of(argv: list[str]) -> str | None:
    """The command word of an argument list, past the global options."""
    words = iter(argv)
    for word in words:
        if word in _VALUED:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _lazy(module: str, name: str):
    """A command implemented in a module of this package, looked up only when it runs."""
    def run(hub, args) -> int:
        return getattr(importlib.import_module(f"connhub.cli.{module}"), name)(hub, args)

    return run


COMMANDS = {
    "list": _lazy("instances", "cmd_list"), "show": _lazy("instances", "cmd_show"),
    "add": _lazy("instances", "cmd_add"), "remove": _lazy("instances", "cmd_remove"),
    "test": _lazy("probing", "cmd_test"),
    "types": _lazy("types", "cmd_types"), "events": _lazy("types", "cmd_events"),
    "validate-event": _lazy("types", "cmd_validate_event"),
    "manifest-schema": _lazy("types", "cmd_manifest_schema"), "new-type": _lazy("types", "cmd_new_type"),
    "settings": _lazy("config", "cmd_settings"), "config": _lazy("config", "cmd_config"),
    "workspaces": _lazy("workspaces", "cmd_workspaces"),
    "monitor": _lazy("monitor", "cmd_monitor"), "watch": _lazy("monitor", "cmd_watch"),
    "export": _lazy("transfer", "cmd_export"), "import": _lazy("transfer", "cmd_import"),
    "actions": _lazy("actions", "cmd_actions"), "run": _lazy("actions", "cmd_run"),
    "runs": _lazy("actions", "cmd_runs"),
    "workflow": _lazy("workflows", "cmd_workflow"),
    "signin": _lazy("oauth", "cmd_signin"),
    "webhooks": _lazy("webhooks", "cmd_webhooks"),
    "team": _lazy("team", "cmd_team"), "secret": _lazy("secrets", "cmd_secret"),
    "completion": _lazy("completion", "cmd_completion"),
    "plugins": _lazy("plugins", "cmd_plugins"), "new-plugin": _lazy("plugins", "cmd_new_plugin"),
}

#: Commands that need no Hub at all (they are handed None).
WITHOUT_HUB = {"manifest-schema", "new-type", "completion", "new-plugin"}

#: Commands that read or write instances settle first what a killed connhub left behind (services/reconcile.py).
RECONCILING = {"list", "show", "add", "remove", "test", "run", "secret"}


def main(argv: list[str] | None = None) -> int:
    import sys

    words = sys.argv[1:] if argv is None else argv
    # `list` is what scripts call in loops: its parser alone, without importing every other command's module.
    quick = _command_of(words) == "list" and "_ARGCOMPLETE" not in os.environ
    parser = build_parser(("instances",) if quick else GROUPS)
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (cli/completion.py); answered, then exit
        from connhub.cli.completion import complete

        complete(parser)
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        if args.data_dir:
            os.environ["CONNHUB_DATA_DIR"] = str(args.data_dir)
        from connhub.gui.shell.app import run_gui

        return run_gui()
    if args.command in WITHOUT_HUB:
        return COMMANDS[args.command](None, args)
    # --data-dir is the environment variable for the time of the command (what it starts inherits it), then
    # put back: main() may run many times in one process (the tests, a script importing connhub).
    saved_env = os.environ.get("CONNHUB_DATA_DIR")
    if args.data_dir:
        os.environ["CONNHUB_DATA_DIR"] = str(args.data_dir)
    try:
        if args.command == "list":  # the one command scripts call in loops: no Hub when it can be read as is
            from connhub.cli.instances import quick_list

            if (code := quick_list(args)) is not None:
                return code
        return _run(args)
    finally:
        if saved_env is None:
            os.environ.pop("CONNHUB_DATA_DIR", None)
        else:
            os.environ["CONNHUB_DATA_DIR"] = saved_env


def _run(args) -> int:
    import logging

    from connhub.core.records import (
        CatalogUnavailable,
        InstanceNotFound,
        InvalidValues,
        NameTaken,
        TypeDisabled,
        UnknownAction,
        VaultError,
    )
    from connhub.plugins.registry import UnknownType
    from connhub.services.hub import Hub
    from connhub.services.logs import setup_logging
    from connhub.storage.private import tighten_data_dir

    logger = logging.getLogger("connhub")
    handlers, level = list(logger.handlers), logger.level
    hub = Hub(workspace=" ".join(args.workspace.split()) or "default")
    setup_logging(hub.data_dir)  # makes a new data folder 0700 (an existing one is left to the next line)
    if notice := tighten_data_dir(hub.data_dir):  # an older connhub's 0755 folder, 0644 files: once, said once
        print(safe(notice), file=sys.stderr)
    try:
        if args.command in RECONCILING:
            _reconcile(hub)
        return COMMANDS[args.command](hub, args)
    except UsageError as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidValues as exc:
        for key, message in sorted(exc.errors.items()):
            print(f"connhub: {safe(key)}: {safe(message)}", file=sys.stderr)
        return EXIT_USAGE
    except (InstanceNotFound, NameTaken) as exc:
        print(f"connhub: {safe(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    except (UnknownType, TypeDisabled, UnknownAction) as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except VaultError as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except CatalogUnavailable as exc:  # a team catalog's server gone: said in a line, nothing was written
        print(f"connhub: {safe(exc)} (`connhub team status`)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        hub.close()  # waits for the plugin hooks this command scheduled (each bounded by its timeout)
        _report_hooks(hub)
        for handler in [h for h in logger.handlers if h not in handlers]:  # this run's log file, closed
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)


def _report_hooks(hub) -> None:
    """A plugin hook that failed after this command's save: said, never the command's failure (the change is
    committed; docs/PLUGINS.md)."""
    hooks = hub.__dict__.get("plugin_hooks")
    for failure in hooks.failed if hooks is not None else []:
        print(f"connhub: warning: {safe(failure.text)}; the change is saved. Retry with `connhub plugins retry "
              f"{safe(failure.instance['id'])}`", file=sys.stderr)


def _reconcile(hub) -> None:
    """The journal part only: one query, no keyring call unless a process died mid-operation. The keyring
    listing (secrets lost outside connhub) is left to the window, which can show it."""
    try:
        hub.secrets.reconcile(check_missing=False)
    except Exception as exc:  # noqa: BLE001 - a repair that cannot run must not stop the command
        print(f"connhub: warning: could not check the keyring journal ({type(exc).__name__})", file=sys.stderr)
