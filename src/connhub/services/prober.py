"""Connection tests of form values and of saved instances, and their history.

A test gathers what the run needs — the instance's secrets (vault or this session), the type's app-level
settings, a refreshed OAuth token — then hands it to one runner (services/runner.py, or a ProbeWorker's in a
child process) and records the outcome. Anything that stops a test before it starts is a classified result,
never an exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from connhub.core.errors import ErrorClass
from connhub.core.records import InstanceRecord, TestRun
from connhub.core.results import TestResult
from connhub.services.credentials import REAUTH_HINT, Credentials, NotReady
from connhub.services.runner import run_test

if TYPE_CHECKING:
    from datetime import datetime

    from connhub.services.oauth import OAuth
    from connhub.services.plugin_hooks import PluginHooks
    from connhub.services.secrets import Secrets
    from connhub.services.settings import Settings
    from connhub.services.types import Types
    from connhub.storage.repository import InstanceStore, TestOutcome

#: Runs a prepared test, as `services.testing.run_test` does: (entry, config, secrets, timeout, on_stage).
Runner = Callable[..., Awaitable[TestResult]]
log = logging.getLogger("connhub")


class Prober:
    def __init__(self, types: Types, credentials: Credentials, secrets: Secrets, settings: Settings,
                 store: InstanceStore, oauth: OAuth, listener: PluginHooks | None = None):
        self._types = types
        self._credentials = credentials
        self._secrets = secrets
        self._settings = settings
        self._store = store
        self._oauth = oauth
        self._listener = listener  # told after each recorded test (services/plugin_hooks.py)

    async def test_values(self, type_name: str, values: dict[str, Any], timeout: float | None = None,
                          on_stage: Callable[[str], None] | None = None,
                          saved_from: InstanceRecord | None = None) -> TestResult:
        """Test unsaved form values; secrets left blank in an edit form come from the saved instance."""
        from connhub.services.oauth import ReauthNeeded

        split = self._types.split(type_name, values)
        secrets = dict(split.secrets)
        loop = asyncio.get_running_loop()
        if saved_from is not None:
            missing = [k for k in saved_from.secret_fields if k not in secrets]
            if missing:
                secrets.update(await loop.run_in_executor(None, self._secrets.read, saved_from, missing))
            try:  # the saved OAuth sign-in (not one just made in the form) is refreshed as for a saved test
                secrets = await self._oauth.refresh_saved_tokens(saved_from, split.config, split.secrets, secrets)
            except ReauthNeeded as exc:
                return TestResult(ok=False, message=str(exc), error_class=ErrorClass.AUTH, failed_stage="auth",
                                  hint=REAUTH_HINT)
        timeout = timeout or await loop.run_in_executor(None, lambda: self._settings.default_timeout)
        try:  # the type's app-level settings (Settings, `connhub config`) go along, instance values first
            config, secrets = await self._credentials.for_values(type_name, split.config, secrets)
        except NotReady as exc:
            return not_ready(exc)
        return await run_test(self._types.entry(type_name), config, secrets, timeout, on_stage)

    async def test_instance(self, record: InstanceRecord, timeout: float | None = None,
                            on_stage: Callable[[str], None] | None = None, *, save: bool = True,
                            runner: Runner | None = None) -> TestResult:
        """Test a saved instance and record the outcome in its history (`save=False`: the caller records it,
        as services/batch.py does, many results per transaction). `runner` runs the prepared test: `run_test`
        here, or a `ProbeWorker`'s in a child process."""
        loop = asyncio.get_running_loop()
        try:
            config, secrets = await self._credentials.for_instance(record)
        except NotReady as exc:
            result = not_ready(exc)
        else:
            if timeout is None:
                timeout = await loop.run_in_executor(None, lambda: self._settings.default_timeout)
            result = await (runner or run_test)(self._types.entry(record.type), config, secrets, timeout, on_stage)
        if save:
            saved = await loop.run_in_executor(None, self.record, record.id, result)
            if self._listener is not None:
                self._listener.test_finished(saved, result)
        return result

    async def test_many(self, records: Iterable[InstanceRecord], **options: Any) -> list[TestResult]:
        """Test all: bounded concurrency, a result per instance as it lands (services/batch.py)."""
        from connhub.services.batch import test_many

        return await test_many(self, records, **options)

    def record(self, instance_id: str, result: TestResult, at: datetime | None = None) -> InstanceRecord:
        """`at`: when the test ran, if not now (the form's test, kept when its values are saved)."""
        log.info("tested instance %s: %s", instance_id, "ok" if result.ok else result.error_class)
        return self._store.record_test(instance_id, result.ok, result.error_class.value if result.error_class else None,
                                       result.latency_ms, result.server_version, result.message, at=at)

    def record_many(self, outcomes: list[TestOutcome]) -> None:
        for outcome in outcomes:
            log.info("tested instance %s: %s", outcome.instance_id, "ok" if outcome.ok else outcome.error_class)
        self._store.record_tests(outcomes)

    def history(self, instance_id: str, limit: int = 20) -> list[TestRun]:
        return self._store.history(instance_id, limit)

    @property
    def default_timeout(self) -> float:
        return self._settings.default_timeout

    def unusable_reason(self, record: InstanceRecord) -> str | None:
        """Why a background test (the monitor) cannot run this instance now, or None when it can."""
        registry = self._types.registry
        if record.type not in registry:
            return f"its type {record.type!r} is not installed"
        if not registry.get(record.type).ok:
            return f"its type {record.type!r} is disabled"
        if record.secret_mode == "session" and record.secret_fields and self._secrets.needed(record):
            return "its secrets are asked every time and none is in memory"
        return None


def not_ready(exc: NotReady) -> TestResult:
    """A test that could not start: its settings, secrets or sign-in are not usable."""
    return TestResult(ok=False, message=str(exc), error_class=exc.error_class, hint=exc.hint, failed_stage=exc.stage)
