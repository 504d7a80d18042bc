"""What a connection test returns: an outcome, timed stages, and the server's own words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from connhub.core.errors import ErrorClass

#: The stages a test goes through, in order. Integrations may skip some (no TLS, no auth).
STAGES = ("resolve", "connect", "tls", "auth", "probe")


@dataclass
class StageResult:
    name: str
    ok: bool
    duration_ms: float
    detail: str = ""


@dataclass
class ProbeInfo:
    """What an integration's test returns on success; timing and classification are done around it."""

    server_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    message: str
    error_class: ErrorClass | None = None
    hint: str = ""
    latency_ms: float | None = None
    server_version: str | None = None
    stages: list[StageResult] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    failed_stage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_class"] = self.error_class.value if self.error_class else None
        return data


@dataclass
class ConnectionInfo:
    """A secret-free description of where an instance points, for lists and summaries."""

    display_url: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
