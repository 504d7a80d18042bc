"""The contract between connhub and one integration type's code."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from connhub.core.context import TestContext
from connhub.core.errors import ConnectionTestError, ConnectTimeout, classify
from connhub.core.results import ConnectionInfo, ProbeInfo

if TYPE_CHECKING:
    from connhub.core.manifest import Manifest

#: Flat values keyed by dotted field path: {"host": "db", "auth.method": "bearer"}.
Values = dict[str, Any]


class Integration:
    """Base class named by a manifest's `entrypoint`; imported only when first needed.

    `test_connection` does the real work and raises `connhub.core.errors` classes (or lets library
    exceptions through: the caller classifies them). Timing, timeouts, cancellation and messages are
    handled around it, once, by `connhub.services.runner`.
    """

    #: Modules the test imports lazily (its driver). `preload` imports them ahead, off the GUI thread: an
    #: import inside `test_connection` would run on the event loop and freeze the window (asyncssh ~0.4 s).
    drivers: tuple[str, ...] = ()
    #: Fields whose fallback the code computes from other values (MQTT's port: 1883, or 8883 with TLS), so
    #: `with_defaults` leaves them out when they are empty.
    computed_defaults: tuple[str, ...] = ()

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    _preloaded = False

    def preload(self) -> None:
        """Import the driver modules now (called on a worker thread before a first test); once per type: the
        runner asks before every run, and asking again cost ~30 µs of a ~0.4 ms Redis `get`."""
        if self._preloaded:
            return
        import importlib

        from connhub.core.net import tls_context

        for name in self.drivers:
            importlib.import_module(name)
        tls_context(None)  # the system CA store, loaded once (~0.1 s) here rather than on the event loop
        self._preloaded = True

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        raise NotImplementedError

    def with_defaults(self, config: Values) -> Values:
        """`config` with the manifest's default put in for every field left out or empty: the one place a
        type's defaults (port 5432, user "postgres", …) are read, so the code never repeats them."""
        filled = dict(self._defaults)
        filled.update({k: v for k, v in config.items() if v not in (None, "")})
        return filled

    @functools.cached_property
    def _defaults(self) -> dict[str, Any]:
        """Read once per type: building the field specs costs ~90 µs, a third of a Redis `get` (benchmarks/
        actions.py)."""
        from connhub.core.fields import defaults, field_specs

        return {k: v for k, v in defaults(field_specs(self.manifest.credentials)).items()
                if k not in self.computed_defaults}

    @classmethod
    def classify_driver_error(cls, exc: BaseException, ctx: TestContext | None = None) -> ConnectionTestError:
        """The classified error for what the type's code let through (its test and its actions alike)."""
        return classify(exc)

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


class DriverIntegration(Integration):
    """A coded type that talks to its server through a driver library.

    It declares `driver_errors`, a table of the driver's exceptions (named "module:Class", imported only when an
    error is classified, as the driver is) to the error class each one means; `classify_driver_error` is the one
    path from a driver exception to a `ConnectionTestError`, for the test (`errors(ctx)`) and the actions (the
    runner calls it for what an action lets through). A type whose driver speaks only in message texts refines
    the table in `refine_error`.
    """

    #: ("module:Class", error class), first match wins: list a subclass before its base.
    driver_errors: ClassVar[tuple[tuple[str, type[ConnectionTestError]], ...]] = ()
    #: Driver exceptions (same notation) that mean "the server did not answer in time".
    driver_timeouts: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def refine_error(cls, exc: BaseException, ctx: TestContext | None) -> ConnectionTestError | None:
        """A type's own reading of an exception the table cannot tell apart (e.g. by its message); None: the
        table decides."""
        return None

    @classmethod
    def classify_driver_error(cls, exc: BaseException, ctx: TestContext | None = None) -> ConnectionTestError:
        from connhub.core.net import classify_os_chain

        if isinstance(exc, ConnectionTestError):
            return exc
        timeout = ctx.timeout if ctx is not None else 0.0
        refined = cls.refine_error(exc, ctx)
        if refined is not None:
            return refined
        if isinstance(exc, TimeoutError) or _is_any(exc, cls.driver_timeouts):
            return ConnectTimeout(f"No answer within {timeout:g} s" if timeout else "No answer within the timeout")
        for name, error_class in cls.driver_errors:
            if _is_any(exc, (name,)):
                return error_class(str(exc) or type(exc).__name__)
        return classify_os_chain(exc, timeout) or classify(exc)

    @contextlib.contextmanager
    def errors(self, ctx: TestContext | None = None) -> Iterator[None]:
        """Raise whatever the block lets through as its classified error (the driver's exception its cause)."""
        try:
            yield
        except Exception as exc:
            error = self.classify_driver_error(exc, ctx)
            if error is exc:
                raise
            raise error from exc


def _is_any(exc: BaseException, names: tuple[str, ...]) -> bool:
    import sys

    for name in names:
        module, _, cls = name.partition(":")
        loaded = sys.modules.get(module)  # a driver not imported yet cannot have raised
        kind = getattr(loaded, cls, None) if loaded is not None else None
        if isinstance(kind, type) and isinstance(exc, kind):
            return True
    return False
