"""A synthetic integration type for the events and app-settings tests: `acme`, made in a test's tmp folder.

It has instance fields (host, port, token), app-level `cfg:` fields (a client id, a secret, a proxy, a number)
and two events whose schemas use a `$ref` to a file beside them, like a real type's `events/*.json`.
Its code, `Recorder`, remembers the config and secrets each test run hands it and always succeeds.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from connhub.core.context import TestContext
from connhub.core.integration import Integration
from connhub.core.results import ProbeInfo

ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" fill="#6d28d9"/></svg>'

MANIFEST: dict[str, Any] = {
    "manifest_version": 1, "type": "acme", "name": "Acme API", "group": "http-api", "icon": "icon.svg",
    "description": "A made-up API for tests.",
    "entrypoint": "tests.services.synthetic:Recorder",
    "credentials": {"type": "object", "required": ["host"], "properties": {
        "host": {"type": "string", "title": "Host", "format": "hostname", "x-order": 1},
        "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535, "default": 443, "x-order": 2},
        "token": {"type": "string", "title": "Token", "writeOnly": True, "x-order": 3},
        "cfg:client_id": {"type": "string", "title": "OAuth client ID", "x-order": 20,
                          "description": "Client ID of the OAuth app, shared by every Acme connection."},
        "cfg:client_secret": {"type": "string", "title": "OAuth client secret", "writeOnly": True, "x-order": 21},
        "cfg:proxy": {"type": "string", "title": "HTTP(S) proxy", "format": "uri", "x-order": 22,
                      "examples": ["http://proxy.example.com:3128"]},
        "cfg:retries": {"type": "integer", "title": "Retries", "minimum": 0, "maximum": 5, "default": 2,
                        "x-order": 23},
    }},
    "events": [
        {"type": "order.created", "description": "An order was placed.", "schema": "events/order_created.json"},
        {"type": "ping", "description": "Sent once when a webhook is set up.", "schema": "events/ping.json"},
    ],
}

ORDER_CREATED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "order.created", "type": "object", "additionalProperties": False,
    "required": ["id", "amount", "customer", "items"],
    "properties": {
        "id": {"type": "string", "pattern": "^ord_"},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"enum": ["usd", "eur"]},
        "created": {"type": "string", "format": "date-time"},
        "customer": {"$ref": "common.json#/$defs/customer"},
        "items": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["sku"],
            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}},
        "note": {"type": ["string", "null"]},
    },
}
COMMON = {"$defs": {"customer": {"type": "object", "required": ["email"], "properties": {
    "email": {"type": "string", "format": "email"}, "display name": {"type": "string"}}}}}
PING = {"type": "object", "required": ["zen"], "properties": {"zen": {"type": "string"}, "hook_id": {"type": "integer"}}}

VALID_ORDER = {"id": "ord_123", "amount": 1250, "currency": "eur", "created": "2024-05-01T12:00:00Z",
               "customer": {"email": "ann@example.com", "display name": "Ann"},
               "items": [{"sku": "A-1", "qty": 2}], "note": None}


class Recorder(Integration):
    """Succeeds, after writing down what it was given (class-wide, like tests/core/runner_integrations)."""

    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def test_connection(self, config, secrets, ctx: TestContext) -> ProbeInfo:
        type(self).seen.append((dict(config), dict(secrets)))
        with ctx.stage("connect"):
            pass
        return ProbeInfo(server_version="Acme 1.0")


def make_acme(parent: Path, type_name: str = "acme", manifest: dict[str, Any] | None = None,
              schemas: dict[str, Any] | None = None) -> Path:
    """Write the type's folder under `parent`; `manifest` and `schemas` (file name → content) replace parts."""
    folder = parent / type_name
    (folder / "events").mkdir(parents=True)
    data = copy.deepcopy(MANIFEST)
    data["type"] = type_name
    data.update(manifest or {})
    (folder / "manifest.json").write_text(json.dumps(data, indent=2))
    (folder / "icon.svg").write_text(ICON)
    files = {"order_created.json": ORDER_CREATED, "common.json": COMMON, "ping.json": PING, **(schemas or {})}
    for name, content in files.items():
        (folder / "events" / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return folder


def cli_main() -> int:
    """`python -c 'from tests.services.synthetic import cli_main; cli_main()' FOLDER… -- ARGS…`: the real
    `connhub` command line, with the registry made of the given type folders instead of real discovery."""
    from connhub import cli
    from connhub.plugins.registry import Registry

    split = sys.argv.index("--")
    folders = [Path(f) for f in sys.argv[1:split]]
    Registry.discover = classmethod(lambda cls, *a, **kw: Registry.from_folders(folders, source="built-in"))
    return cli.main(sys.argv[split + 1:])


if __name__ == "__main__":
    sys.exit(cli_main())
