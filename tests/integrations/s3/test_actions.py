"""S3's actions against moto's S3 server (ThreadedMotoServer, IAM enforced; see conftest.py), checked with
boto3 on the same server."""

from __future__ import annotations

import os
import stat
import uuid

import boto3
import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import act, act_timed, assert_failed, assert_ok
from tests.support.services import free_port


@pytest.fixture
def s3(moto_s3):
    """The reader's config and secrets, a boto3 client with the same key, and a fresh prefix."""
    key_id, secret = moto_s3.reader
    client = boto3.client("s3", endpoint_url=moto_s3.endpoint, region_name="us-east-1",
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
    config = {"endpoint": moto_s3.endpoint, "region": "us-east-1", "access_key_id": key_id,
              "bucket": moto_s3.bucket}
    return config, {"secret_access_key": secret}, client, f"t-{uuid.uuid4().hex[:8]}/"


def test_put_text_and_file_then_list_and_get_back(registry, moto_s3, s3, tmp_path):
    config, secrets, client, prefix = s3
    stored = assert_ok(act(registry, "s3", "put_object", {"key": prefix + "hello ü.txt", "text": "hallo wereld ✓"},
                           config, secrets))
    assert stored["size"] == len("hallo wereld ✓".encode()) and stored["etag"]
    got = client.get_object(Bucket=moto_s3.bucket, Key=prefix + "hello ü.txt")
    assert got["Body"].read().decode() == "hallo wereld ✓" and got["ContentType"].startswith("text/plain")

    source = tmp_path / "blob.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    assert_ok(act(registry, "s3", "put_object", {"key": prefix + "dir/blob.bin", "file": str(source),
                                                 "content_type": "application/x-test"}, config, secrets, timeout=20))
    head = client.head_object(Bucket=moto_s3.bucket, Key=prefix + "dir/blob.bin")
    assert head["ContentLength"] == source.stat().st_size and head["ContentType"] == "application/x-test"

    listed = assert_ok(act(registry, "s3", "list_objects", {"prefix": prefix}, config, secrets))
    assert [o["key"] for o in listed["objects"]] == [prefix + "dir/blob.bin", prefix + "hello ü.txt"]
    assert listed["count"] == 2 and listed["truncated"] is False and listed["bucket"] == moto_s3.bucket

    target = tmp_path / "out" / "copy.bin"
    target.parent.mkdir()
    done = assert_ok(act(registry, "s3", "get_object", {"key": prefix + "dir/blob.bin", "path": str(target)},
                         config, secrets, timeout=20))
    assert target.read_bytes() == source.read_bytes() and done["size"] == source.stat().st_size
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["copy.bin"]  # no temporary file left


def test_list_objects_pages_and_caps(registry, moto_s3, s3):
    config, secrets, client, prefix = s3
    for n in range(1205):
        client.put_object(Bucket=moto_s3.bucket, Key=f"{prefix}k{n:05}", Body=b"x")
    whole = assert_ok(act(registry, "s3", "list_objects", {"prefix": prefix, "limit": 5000}, config, secrets,
                          timeout=20))
    assert whole["count"] == 1205 and not whole["truncated"]
    assert [o["key"] for o in whole["objects"]] == [f"{prefix}k{n:05}" for n in range(1205)]
    capped = assert_ok(act(registry, "s3", "list_objects", {"prefix": prefix, "limit": 1100}, config, secrets,
                           timeout=20))
    assert capped["count"] == 1100 and capped["truncated"]


def test_get_object_keeps_an_existing_file_unless_asked(registry, moto_s3, s3, tmp_path):
    config, secrets, client, prefix = s3
    client.put_object(Bucket=moto_s3.bucket, Key=prefix + "new", Body=b"new contents")
    target = tmp_path / "kept.txt"
    target.write_text("mine")
    assert_failed(act(registry, "s3", "get_object", {"key": prefix + "new", "path": str(target)}, config, secrets),
                  "config")
    assert target.read_text() == "mine"
    assert_ok(act(registry, "s3", "get_object", {"key": prefix + "new", "path": str(target), "overwrite": True},
                  config, secrets))
    assert target.read_text() == "new contents"
    missing = act(registry, "s3", "get_object", {"key": prefix + "gone", "path": str(tmp_path / "g")}, config, secrets)
    assert_failed(missing, "not_found")
    assert os.listdir(tmp_path) == ["kept.txt"]  # the failed download left nothing


def test_failures_are_classified_and_nothing_is_half_done(registry, moto_s3, s3, tmp_path):
    config, secrets, client, prefix = s3
    wrong = act(registry, "s3", "put_object", {"key": prefix + "x", "text": "x"}, config,
                {"secret_access_key": "not-the-secret-key"})
    assert_failed(wrong, "auth", "not-the-secret-key")
    denied_key, denied_secret = moto_s3.denied
    denied = act(registry, "s3", "list_objects", {}, {**config, "access_key_id": denied_key},
                 {"secret_access_key": denied_secret})
    assert_failed(denied, "permission", denied_secret)
    assert_failed(act(registry, "s3", "list_objects", {"bucket": moto_s3.bucket + "-gone"}, config, secrets),
                  "not_found")
    assert client.list_objects_v2(Bucket=moto_s3.bucket, Prefix=prefix)["KeyCount"] == 0
    with pytest.raises(InvalidParams):
        act(registry, "s3", "get_object", {"key": prefix + "x"}, config, secrets)  # no path
    both = act(registry, "s3", "put_object", {"key": prefix + "x", "text": "a", "file": str(tmp_path / "f")},
               config, secrets)
    assert_failed(both, "config")
    dead, took = act_timed(registry, "s3", "list_objects", {}, {**config, "endpoint": f"http://127.0.0.1:{free_port()}"},
                           secrets, timeout=3)
    assert_failed(dead, "refused")
    assert took < 3


def test_delete_object_removes_the_key_and_a_missing_one_fails_unless_allowed(registry, moto_s3, s3):
    config, secrets, client, prefix = s3
    client.put_object(Bucket=moto_s3.bucket, Key=prefix + "old.csv", Body=b"a,b")
    client.put_object(Bucket=moto_s3.bucket, Key=prefix + "keep.csv", Body=b"c,d")
    done = assert_ok(act(registry, "s3", "delete_object", {"key": prefix + "old.csv"}, config, secrets))
    assert done == {"bucket": moto_s3.bucket, "key": prefix + "old.csv", "deleted": True}
    left = client.list_objects_v2(Bucket=moto_s3.bucket, Prefix=prefix)["Contents"]
    assert [o["Key"] for o in left] == [prefix + "keep.csv"]
    again = act(registry, "s3", "delete_object", {"key": prefix + "old.csv"}, config, secrets)
    assert_failed(again, "not_found")
    allowed = assert_ok(act(registry, "s3", "delete_object", {"key": prefix + "old.csv", "must_exist": False},
                            config, secrets))
    assert allowed["deleted"] is False
    denied_key, denied_secret = moto_s3.denied
    refused = act(registry, "s3", "delete_object", {"key": prefix + "keep.csv"},
                  {**config, "access_key_id": denied_key}, {"secret_access_key": denied_secret})
    assert_failed(refused, "permission", denied_secret)
    assert [o["Key"] for o in client.list_objects_v2(Bucket=moto_s3.bucket, Prefix=prefix)["Contents"]] == \
        [prefix + "keep.csv"]
    with pytest.raises(InvalidParams):
        act(registry, "s3", "delete_object", {}, config, secrets)
