"""`connhub team join | status | leave`: a shared PostgreSQL catalog, and the team's OpenBao for shared secrets.

The token is read from standard input (`--token-stdin`) or a hidden prompt, never from an argument, and goes
only to the user's keyring (services/team.py).
"""

from __future__ import annotations

import json
import sys

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, safe


def add_parsers(sub) -> None:
    p = sub.add_parser("team", help="join a team catalog (shared PostgreSQL, secrets in OpenBao), status, leave")
    team = p.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    join = team.add_parser("join", help="check both ends, keep the token in your keyring, switch the catalog")
    join.add_argument("--db-url", required=True, metavar="URL", help="postgresql://user@host:5432/db, without a "
                      "password (an argument shows in the process list)")
    join.add_argument("--db-password-env", metavar="VAR", help="the database password, from this environment "
                      "variable (kept in your keyring, not in a file)")
    join.add_argument("--openbao-addr", metavar="URL", help="the team's OpenBao (or Vault), e.g. https://bao:8200")
    join.add_argument("--openbao-mount", default="secret", metavar="NAME", help="its KV v2 mount (default: secret)")
    join.add_argument("--token-stdin", action="store_true", help="read the OpenBao token from standard input")
    status = team.add_parser("status", help="catalog, secret store, identity, and whether both answer")
    status.add_argument("--json", action="store_true")
    team.add_parser("leave", help="back to the local catalog (kept untouched while in the team)")


def cmd_team(hub, args) -> int:
    from connhub.services.team import TeamError

    if args.team_command == "leave":
        left = hub.team.leave()
        print("Back on the local catalog." if left else "Not in a team: already on the local catalog.")
        return EXIT_OK
    if args.team_command == "status":
        return _print_status(hub.team.status(), args.json)
    token = None
    if args.openbao_addr:
        token = _read_token(args.token_stdin)
    try:
        status = hub.team.join(_db_url(args), args.openbao_addr, args.openbao_mount, token)
    except TeamError as exc:
        print(f"connhub: team join: {exc.stage}: {safe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Joined the team catalog {safe(status['catalog']['url'])}.")
    return _print_status(status, False)


def _db_url(args) -> str:
    """--db-url with the password of --db-password-env; a password in the argument itself is refused."""
    import os

    from sqlalchemy import make_url

    try:
        url = make_url(args.db_url.strip())
    except Exception:  # noqa: BLE001 - not echoed: it may hold a password
        raise UsageError("--db-url is not a database URL (postgresql://user@host/db)") from None
    if url.password:
        raise UsageError("--db-url must not hold a password (it would show in the process list): give it with "
                         "--db-password-env VAR, or use ~/.pgpass")
    if args.db_password_env:
        if args.db_password_env not in os.environ:
            raise UsageError(f"--db-password-env: environment variable {args.db_password_env!r} is not set")
        url = url.set(password=os.environ[args.db_password_env])
    return url.render_as_string(hide_password=False)


def _read_token(from_stdin: bool) -> str:
    if from_stdin:
        token = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        import getpass

        token = getpass.getpass("OpenBao token: ").strip()
    else:
        raise UsageError("give the OpenBao token with --token-stdin (it is never taken from an argument)")
    if not token:
        raise UsageError("the OpenBao token is empty")
    return token


def _print_status(status: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        catalog, secrets, who = status["catalog"], status["secrets"], status["identity"]
        named = f" (id {safe(catalog['id'])})" if catalog.get("id") else ""
        print(f"catalog   {safe(catalog['url'])}{named}: {_answers(catalog)}")
        if secrets["store"] == "openbao":
            print(f"secrets   OpenBao {safe(secrets['addr'])}, {safe(secrets.get('path') or secrets['mount'])}: "
                  f"{_answers(secrets)}")
        else:
            print("secrets   your keyring (no shared secret store)")
        print("identity  " + ", ".join(f"{k} {safe(v)}" for k, v in who.items() if v))
    both = status["catalog"].get("answers") and status["secrets"].get("answers", True)
    return EXIT_OK if both else EXIT_FAILED


def _answers(part: dict) -> str:
    return "answers" if part.get("answers") else f"does not answer: {safe(part.get('problem') or '?')}"
