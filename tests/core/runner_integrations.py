"""Tiny integrations for tests/core/test_runner.py, loaded through real manifests' `entrypoint`s."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from connhub.core.context import TestContext
from connhub.core.errors import AuthError
from connhub.core.integration import Integration
from connhub.core.results import ProbeInfo


class OkIntegration(Integration):
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def test_connection(self, config, secrets, ctx: TestContext) -> ProbeInfo:
        type(self).seen.append((config, secrets))
        for stage in ("resolve", "connect", "auth", "probe"):
            with ctx.stage(stage):
                await asyncio.sleep(0.005)
        return ProbeInfo(server_version="Acme 1.2.3", details={"role": "reader"})


class AuthFailing(Integration):
    async def test_connection(self, config, secrets, ctx: TestContext) -> ProbeInfo:
        with ctx.stage("connect"):
            pass
        with ctx.stage("auth"):
            raise AuthError(f"password authentication failed for user {config['user']!r}")


class Slow(Integration):
    async def test_connection(self, config, secrets, ctx: TestContext) -> ProbeInfo:
        with ctx.stage("connect"):
            await asyncio.sleep(0.005)
        with ctx.stage("probe"):
            await asyncio.sleep(10)
        return ProbeInfo()


class EchoesSecret(Integration):
    """A driver that puts the password, plain and percent-encoded, into its error message."""

    async def test_connection(self, config, secrets, ctx: TestContext) -> ProbeInfo:
        password = secrets["password"]
        with ctx.stage("auth"):
            raise RuntimeError(f"login failed with password={password} for "
                               f"postgres://app:{quote(password, safe='')}@db/app (form: pw={quote(password)})")


class NotAnIntegration:
    pass
