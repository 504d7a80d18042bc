"""The contract between connhub and one integration type's code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from connhub.core.context import TestContext
from connhub.core.results import ConnectionInfo, ProbeInfo

if TYPE_CHECKING:
    from connhub.core.manifest import Manifest

#: Flat values keyed by dotted field path: {"host": "db", "auth.method": "bearer"}.
Values = dict[str, Any]


class Integration:
    """Base class named by a manifest's `entrypoint`; imported only when first needed.

    `test_connection` does the real work and raises `connhub.core.errors` classes (or lets library
    exceptions through: the caller classifies them). Timing, timeouts, cancellation and messages are
    handled around it, once, by `connhub.services.testing`.
    """

    #: Modules the test imports lazily (its driver). `preload` imports them ahead, off the GUI thread: an
    #: import inside `test_connection` would run on the event loop and freeze the window (asyncssh ~0.4 s).
    drivers: tuple[str, ...] = ()

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    def preload(self) -> None:
        """Import the driver modules now (called on a worker thread before a first test)."""
        import importlib

        from connhub.core.net import tls_context

        for name in self.drivers:
            importlib.import_module(name)
        tls_context(None)  # the system CA store, loaded once (~0.1 s) here rather than on the event loop

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        raise NotImplementedError

    def connection_info(self, config: Values) -> ConnectionInfo:
        """A secret-free summary; the default reads the common host/port/database/user fields."""
        scheme = self.manifest.url_schemes[0] if self.manifest.url_schemes else self.manifest.type
        host = config.get("host")
        port = config.get("port")
        user = config.get("user") or config.get("username")
        database = config.get("database")
        if not host:
            return ConnectionInfo(display_url=self.manifest.name)
        netloc = str(host)
        if ":" in netloc and not netloc.startswith("["):
            netloc = f"[{netloc}]"
        if port:
            netloc = f"{netloc}:{port}"
        if user:
            netloc = f"{quote(str(user), safe='')}@{netloc}"
        url = f"{scheme}://{netloc}"
        if database not in (None, ""):
            url += f"/{quote(str(database), safe='')}"
        return ConnectionInfo(url, host=str(host), port=_int_or_none(port), database=_str_or_none(database),
                              user=_str_or_none(user))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
