"""`connhub workspaces`: list them, or create an empty one (`-w NAME` picks one for any command)."""

from __future__ import annotations

import json

from connhub.cli.common import EXIT_OK, safe


def add_parsers(sub) -> None:
    p = sub.add_parser("workspaces", help="list workspaces, or create one")
    p.add_argument("--create", metavar="NAME", help="create an empty workspace")
    p.add_argument("--json", action="store_true")


def cmd_workspaces(hub, args) -> int:
    if args.create:
        name = hub.instances.add_workspace(args.create)
        print(f"Created workspace {safe(repr(name))}: use it with `connhub -w {json.dumps(name)} …`")
        return EXIT_OK
    names = hub.instances.workspaces()
    if args.json:
        print(json.dumps(names))
    else:
        for name in names:
            print(f"{'*' if name == hub.instances.workspace else ' '} {safe(name)}")
    return EXIT_OK
