"""App-wide settings kept in the catalog: the default test timeout and how many tests run at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connhub.services.batch import DEFAULT_CONCURRENCY
from connhub.services.runner import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from connhub.storage.repository import InstanceStore

ACTION_TIMEOUT = 30.0  # a query or a command may take longer than a connection test
PREVIEW_BYTES = 64 * 1024
RUNS_KEPT = 1000  # per instance: the execution log of each keeps its newest runs
CONCURRENCY_RANGE = (1, 64)  # tests at once: beyond 64 a desktop's file descriptors and servers' limits suffer
TIMEOUT_RANGE = (0.1, 600.0)


class Settings:
    def __init__(self, store: InstanceStore):
        self._store = store

    @property
    def default_timeout(self) -> float:
        return float(self._store.get_setting("default_timeout", str(DEFAULT_TIMEOUT)))

    def set_default_timeout(self, seconds: float) -> None:
        low, high = TIMEOUT_RANGE
        if not low <= seconds <= high:
            raise ValueError(f"The timeout must be between {low:g} and {high:g} seconds")
        self._store.set_setting("default_timeout", repr(float(seconds)))

    @property
    def concurrency(self) -> int:
        """How many tests a Test all runs at once. A value out of range (edited by hand) falls back inside it."""
        try:
            value = int(self._store.get_setting("concurrency", str(DEFAULT_CONCURRENCY)))
        except ValueError:
            return DEFAULT_CONCURRENCY
        return min(max(value, CONCURRENCY_RANGE[0]), CONCURRENCY_RANGE[1])

    def set_concurrency(self, count: int) -> None:
        low, high = CONCURRENCY_RANGE
        if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
            raise ValueError(f"The number of tests at once must be a whole number from {low} to {high}")
        self._store.set_setting("concurrency", str(count))

    @property
    def action_timeout(self) -> float:
        return _number(self._store.get_setting("action_timeout"), ACTION_TIMEOUT, TIMEOUT_RANGE)

    def set_action_timeout(self, seconds: float) -> None:
        low, high = TIMEOUT_RANGE
        if not low <= seconds <= high:
            raise ValueError(f"The timeout must be between {low:g} and {high:g} seconds")
        self._store.set_setting("action_timeout", repr(float(seconds)))

    @property
    def action_preview_bytes(self) -> int:
        """How much of each result the execution log keeps (the rest is cut, and marked so)."""
        return int(_number(self._store.get_setting("action_preview_bytes"), PREVIEW_BYTES, (1024, 16 << 20)))

    @property
    def action_runs_kept(self) -> int:
        """How many runs the execution log keeps per instance (retention)."""
        return int(_number(self._store.get_setting("action_runs_kept"), RUNS_KEPT, (1, 1_000_000)))

    def set_action_log(self, *, preview_bytes: int | None = None, runs_kept: int | None = None) -> None:
        for key, value, (low, high) in (("action_preview_bytes", preview_bytes, (1024, 16 << 20)),
                                        ("action_runs_kept", runs_kept, (1, 1_000_000))):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{key.replace('_', ' ')} must be a whole number from {low} to {high}")
            self._store.set_setting(key, str(value))


def _number(text: str | None, default: float, bounds: tuple[float, float]) -> float:
    """A saved number, or the default when it is missing or was edited out of range by hand."""
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return value if bounds[0] <= value <= bounds[1] else default
