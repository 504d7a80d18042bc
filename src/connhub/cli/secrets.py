"""`connhub secret rotate NAME` and `connhub secret scope NAME shared|personal`.

Rotating a shared secret writes a new OpenBao version that every member's next test reads; rotating a personal
one sets it in your own keyring (how a team member enters their own secret). New values come from a hidden
prompt, `--secret-stdin FIELD` or `--secret-env FIELD=VAR`, never from an argument.
"""

from __future__ import annotations

import sys

from connhub.cli.common import EXIT_OK, UsageError, safe, secrets_from_args


def add_parsers(sub) -> None:
    p = sub.add_parser("secret", help="rotate an instance's secrets, or move them between personal and shared")
    secret = p.add_subparsers(dest="secret_command", metavar="ACTION", required=True)
    rotate = secret.add_parser("rotate", help="new values for saved secrets (shared: a new OpenBao version)")
    rotate.add_argument("name")
    rotate.add_argument("--secret-stdin", action="append", default=[], metavar="FIELD",
                        help="read this secret field's new value from standard input (one line each)")
    rotate.add_argument("--secret-env", action="append", default=[], metavar="FIELD=VAR",
                        help="take this secret field's new value from an environment variable")
    scope = secret.add_parser("scope", help="where the secrets live: personal (your keyring) or shared (OpenBao)")
    scope.add_argument("name")
    scope.add_argument("scope", choices=("personal", "shared"))


def cmd_secret(hub, args) -> int:
    record = hub.instances.find(args.name)
    if args.secret_command == "scope":
        mode = "shared" if args.scope == "shared" else "keyring"
        hub.instances.update(record.id, dict(record.config), secret_mode=mode,
                             expected_updated_at=record.updated_at)
        print(f"{safe(record.name)}: secrets now {args.scope}")
        return EXIT_OK
    from connhub.core.fields import all_specs

    secret_keys = {s.key for s in all_specs(hub.types.entry(record.type).specs) if s.secret and not s.app_level}
    values = secrets_from_args(args, secret_keys)
    if not values and sys.stdin.isatty():
        import getpass

        for key in sorted(record.secret_fields or secret_keys):
            if typed := getpass.getpass(f"New {key} (empty: keep): "):
                values[key] = typed
    if not values:
        raise UsageError("no new value given: --secret-stdin FIELD, --secret-env FIELD=VAR, or the prompt")
    version = hub.instances.rotate(record.id, values)
    where = f"the team's OpenBao (version {version})" if record.secret_mode == "shared" else (
        "this session's memory" if record.secret_mode == "session" else "your keyring")
    print(f"{safe(record.name)}: {', '.join(sorted(values))} saved in {where}")
    return EXIT_OK


