"""`connhub signin NAME`: the OAuth sign-in from a terminal.

The authorization URL goes to standard error (it carries no secret: only the PKCE challenge and a one-time
state), the browser is opened when one is available, and the loopback listener waits for its one callback.
"""

from __future__ import annotations

import sys
from typing import Any

from connhub.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, safe, timeout_option


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("signin", help="sign an instance in with OAuth in the browser (types that offer it)")
    p.add_argument("name")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the browser (default 300)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL, to open it yourself")


def cmd_signin(hub, args) -> int:
    from connhub.core.oauth import OAuthError
    from connhub.services.oauth import spec_of, uses_oauth

    timeout = timeout_option(args.timeout)
    record = hub.instances.find(args.name)
    entry = hub.types.entry(record.type)
    if spec_of(entry) is None:
        print(f"connhub: {safe(entry.name)} offers no OAuth sign-in", file=sys.stderr)
        return EXIT_USAGE
    if not uses_oauth(entry, record.config):
        spec = spec_of(entry)
        print(f"connhub: {safe(record.name)} does not use OAuth: choose it with `{spec.method_field}="
              f"{spec.method_value}` (edit it in the window)", file=sys.stderr)
        return EXIT_USAGE

    def open_browser(url: str) -> None:
        print(f"Open this address to sign in with {safe(entry.name)}:\n  {safe(url)}", file=sys.stderr)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        print("Waiting for the browser… (Ctrl+C cancels)", file=sys.stderr)

    try:
        import asyncio

        asyncio.run(hub.oauth.sign_in_instance(record, open_browser, timeout=timeout))
    except OAuthError as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("connhub: sign-in cancelled, nothing was saved", file=sys.stderr)
        return EXIT_FAILED
    print(f"Signed in {safe(record.name)} with {safe(entry.name)}")
    return EXIT_OK


def pending_tokens(entry, values: dict[str, Any]) -> set[str]:
    """`connhub add` of an OAuth instance: the tokens come later, from `connhub signin`."""
    from connhub.services.oauth import spec_of, uses_oauth

    spec = spec_of(entry)
    return set(spec.token_fields()) if spec is not None and uses_oauth(entry, values) else set()
