"""The `connhub` command: bare, it opens the window without loading the command line's parser and its
sub-commands (connhub/cli.py), which the window does not need before its first paint."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    if not (sys.argv[1:] if argv is None else argv):
        from connhub.gui.app import run_gui

        return run_gui()
    from connhub.cli import main as cli_main

    return cli_main(argv)
