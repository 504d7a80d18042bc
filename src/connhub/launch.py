"""The `connhub` command: bare, it opens the window without loading the command line's parser and its
sub-commands (connhub/cli.py), which the window does not need before its first paint. `connhub --test-worker`
is the window's test process (services/test_worker.py), for the packaged app, where `python -m` is not there."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from connhub.gui.app import run_gui

        return run_gui()
    from connhub.services.test_worker import WORKER_ARGUMENT

    if args == [WORKER_ARGUMENT]:
        from connhub.services.test_worker import main as worker_main

        return worker_main()
    from connhub.cli import main as cli_main

    return cli_main(argv)
