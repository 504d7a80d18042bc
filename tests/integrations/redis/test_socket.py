"""Redis through its Unix socket (issue 24): redis-py's own `unix:///path?db=N` form read into the fields, then
tested and used by the actions against a real redis-server listening on a socket only this test knows."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from connhub.core.url_forms import format_url
from connhub.core.urls import parse_url
from connhub.services.actions import execute
from tests.support.servers import throwaway_redis
from tests.support.services import free_port


@pytest.fixture(scope="module")
def socket_path(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    path = tmp_path_factory.mktemp("redis-socket") / "redis.sock"
    with throwaway_redis(free_port(), "--unixsocket", str(path), "--unixsocketperm", "700"):
        yield str(path)


def test_a_unix_url_is_tested_through_the_socket(registry, run, socket_path):
    entry = registry.get("redis")
    values = parse_url(entry.manifest, entry.specs, f"unix://{socket_path}?db=3&client_name=connhub-test").values
    assert values["host"] == socket_path and values["db"] == 3
    assert format_url(entry.manifest, entry.specs, values) == f"unix://{socket_path}?db=3&client_name=connhub-test"
    result = run("redis", values)
    assert result.ok, result
    assert result.details["socket"] == socket_path
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_the_actions_use_the_socket_too(registry, socket_path):
    entry = registry.get("redis")
    config = {"host": socket_path, "db": 1, "client_name": "connhub-actions", "socket_timeout": 2}

    async def both():
        wrote = await execute(entry, entry.manifest.action("set"), {"key": "k", "value": "over the socket"},
                              config, {}, 5.0)
        read = await execute(entry, entry.manifest.action("get"), {"key": "k"}, config, {}, 5.0)
        return wrote, read

    wrote, read = asyncio.run(both())
    assert wrote.ok and read.ok, (wrote.message, read.message)
    assert read.result["value"] == "over the socket"


def test_a_missing_socket_is_refused_before_connecting(run, tmp_path):
    result = run("redis", {"host": str(tmp_path / "none.sock")})
    assert not result.ok and result.error_class.value == "refused"
    assert result.failed_stage == "resolve" and "running locally" in result.message
