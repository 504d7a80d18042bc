"""Plain records of the store (no SQLAlchemy here: the window's first paint reads them without it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_WORKSPACE = "default"


def _new_id() -> str:
    import uuid  # only when an instance is made, not to read the list (uuid also loads platform)

    return str(uuid.uuid4())


@dataclass
class InstanceRecord:
    name: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)
    workspace: str = DEFAULT_WORKSPACE
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    #: [{"type", "description", "schema"}] of the type when last saved; None if saved before connhub kept them.
    events: list[dict[str, str]] | None = None
    id: str = field(default_factory=lambda: _new_id())
    status: str = "untested"
    last_test_at: datetime | None = None
    last_latency_ms: float | None = None
    last_error_class: str | None = None
    last_message: str | None = None
    last_server_version: str | None = None
    error_count: int = 0
    monitor_enabled: bool = False
    monitor_interval_min: int = 15
    monitor_next_run_at: datetime | None = None
    secret_mode: str = "keyring"
    needs_reauth: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class AppSettings:
    """The app-level (`cfg:`) settings of one type: non-secret values, and which secret fields the keyring
    holds (their values are never here)."""

    type: str
    values: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)


@dataclass
class TestRun:
    __test__ = False

    started_at: datetime
    ok: bool
    error_class: str | None
    latency_ms: float | None
    server_version: str | None
    message: str
