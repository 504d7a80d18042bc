"""Tables. Secrets never live here: `secret_fields` lists only which fields have one in the keyring (or, for a
shared-scope instance, in the team's OpenBao)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class InstanceRow(Base):
    __tablename__ = "instances"
    __table_args__ = (UniqueConstraint("workspace", "name", name="uq_instances_workspace_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), index=True)
    workspace: Mapped[str] = mapped_column(String(100), default="default")
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    secret_fields: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="untested")
    last_test_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_server_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    environment: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: The type's events when the instance was last saved: [{"type", "description", "schema"}], where
    #: "schema" is the payload schema's path relative to the type's manifest folder. NULL: saved before
    #: connhub kept events (migration 0002).
    events: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    #: Health monitoring (migration 0003): tested every `monitor_interval_min` minutes while enabled.
    monitor_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    monitor_interval_min: Mapped[int] = mapped_column(Integer, default=15)
    monitor_next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: "keyring" (secrets in the OS keyring) or "session" (asked every time, kept in memory only).
    secret_mode: Mapped[str] = mapped_column(String(20), default="keyring")
    #: An OAuth sign-in whose refresh failed: the user must sign in again.
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: One more on every edit (migration 0007): a save names the version it read (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, default=0)


class TestRunRow(Base):
    __tablename__ = "test_runs"
    __test__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool]
    error_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    server_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class SettingRow(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AppSettingRow(Base):
    """One app-level (`cfg:`) field of a type, shared by all its instances. A secret field's row holds no
    value: it records that the keyring has one (user name `app:<type>:<field>`)."""

    __tablename__ = "app_settings"

    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    field: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ActionRunRow(Base):
    """The execution log (migration 0004): one row per action run, newest read first through the index."""

    __tablename__ = "action_runs"
    __table_args__ = (Index("ix_action_runs_instance_started", "instance_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    #: The params as given, secret-kind values masked.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool]
    error_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    result_size: Mapped[int] = mapped_column(Integer, default=0)
    #: The result as compact JSON, cut at the preview cap (`truncated` says so); secrets scrubbed.
    preview: Mapped[str] = mapped_column(Text, default="")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who ran it: "window", "cli", "workflow", "schedule".
    trigger: Mapped[str] = mapped_column(String(20), default="manual")


class WebhookDeliveryRow(Base):
    """The webhook inbox (migration 0005): one row per delivery, newest read first through the index."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_instance_received", "instance_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verdict: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: ["JSONPath: message", …] of a payload that misses its event schema.
    errors: Mapped[list] = mapped_column(JSON, default=list)
    delivery_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: As received, the signature and auth headers masked.
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The raw body, up to the receiver's cap (a bigger one is refused and kept empty).
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    body_size: Mapped[int] = mapped_column(Integer, default=0)


class WorkflowRow(Base):
    """A saved workflow (migration 0006): its definition as the user wrote it, and the hash of it."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("workspace", "name", name="uq_workflows_workspace_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), default="default")
    name: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkflowRunRow(Base):
    """One run of a workflow: each step's outcome, masked params and result preview in `steps` (a JSON list)."""

    __tablename__ = "workflow_runs"
    __table_args__ = (Index("ix_workflow_runs_workflow_started", "workflow_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    #: "running", "ok", "failed", "cancelled"; a "running" row whose process is gone reads as "interrupted".
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    steps: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    #: The schedule slot a "schedule" run (or a "missed" row) is for: a slot is never run twice.
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
