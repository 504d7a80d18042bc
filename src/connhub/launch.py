"""The `connhub` command: bare, it opens the window without loading the command line's parser and its
sub-commands (connhub/cli.py), which the window does not need before its first paint. `connhub --test-worker`
is the window's test process (services/probe_worker.py), for the packaged app, where `python -m` is not there."""

from __future__ import annotations

import os
import sys

#: `connhub --test-worker`, for the packaged app (no `python -m` there). Kept here, not in probe_worker.py,
#: so that recognising it imports nothing: probe_worker imports asyncio (~40 ms of every CLI call).
WORKER_ARGUMENT = "--test-worker"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and "_ARGCOMPLETE" not in os.environ:  # a Tab after `connhub ` completes, it opens no window
        from connhub.gui.shell.app import run_gui

        return run_gui()
    if args == ["--version"]:  # what scripts ask before anything else: no parser to build for it
        from connhub import __version__

        print(f"connhub {__version__}")
        return 0
    if args == [WORKER_ARGUMENT]:
        from connhub.services.probe_worker import main as worker_main

        return worker_main()
    from connhub.cli import main as cli_main

    return cli_main(argv)
