"""S3 against moto's S3 server with IAM enforced, plus local HTTP servers for answers moto never gives
(a skewed clock, SlowDown, a bucket in another region, TLS with a private CA)."""

from __future__ import annotations

import asyncio
import time

import pytest

from connhub.services.runner import run_test
from tests.integrations import assert_builtin_ok, assert_failure, assert_no_secrets
from tests.support.servers import http_server
from tests.support.services import free_port


def config_for(moto_s3, key_id: str, **changes) -> dict:
    return {"endpoint": moto_s3.endpoint, "region": "us-east-1", "access_key_id": key_id, **changes}


def reader(moto_s3, **changes) -> tuple[dict, dict]:
    key_id, secret = moto_s3.reader
    return config_for(moto_s3, key_id, **changes), {"secret_access_key": secret}


def test_builtin_type_loads(registry):
    assert_builtin_ok(registry, "s3")
    entry = registry.get("s3")
    assert (entry.manifest.group, entry.manifest.variant) == ("storage", "s3")
    assert entry.manifest.url_schemes == []  # s3:// names a bucket, not an endpoint


# --- moto, IAM on ------------------------------------------------------------------------------------------

def test_list_buckets_reports_server_and_count(run, moto_s3):
    config, secrets = reader(moto_s3)
    result = run("s3", config, secrets)
    assert result.ok, result
    assert "Werkzeug" in result.server_version  # moto's server speaks through Werkzeug
    assert result.details["buckets"] == "1"
    assert result.details["endpoint"] == moto_s3.endpoint
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]
    assert_no_secrets(result, secrets)


def test_head_existing_bucket_reports_its_region(run, moto_s3):
    config, secrets = reader(moto_s3, bucket=moto_s3.bucket)
    result = run("s3", config, secrets)
    assert result.ok, result
    assert result.details["bucket"] == moto_s3.bucket
    assert result.details["bucket_region"] == "us-east-1"
    assert result.details["addressing"] == "path-style"  # automatic for a custom endpoint


def test_missing_bucket_is_not_found(run, moto_s3):
    config, secrets = reader(moto_s3, bucket=moto_s3.bucket + "-gone")
    result = run("s3", config, secrets)
    assert_failure(result, "not_found", secrets, stage="probe")
    assert moto_s3.bucket + "-gone" in result.message


def test_wrong_secret_is_auth_and_says_so(run, moto_s3, fake):
    config, _ = reader(moto_s3)
    secrets = {"secret_access_key": fake.password(length=40)}
    result = run("s3", config, secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "SignatureDoesNotMatch" in result.message
    assert "secret access key is wrong" in result.message


def test_unknown_key_id_is_auth_and_says_so(run, moto_s3):
    _, secrets = reader(moto_s3)
    result = run("s3", config_for(moto_s3, "AKIA" + "Z" * 16), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "InvalidAccessKeyId" in result.message
    assert "access key ID" in result.message


def test_wrong_secret_on_head_bucket_is_diagnosed(run, moto_s3, fake):
    """HEAD's 403 has no body: the follow-up GET names the cause, so the user still learns which key is wrong."""
    config, _ = reader(moto_s3, bucket=moto_s3.bucket)
    secrets = {"secret_access_key": fake.password(length=40)}
    result = run("s3", config, secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "SignatureDoesNotMatch" in result.message


def test_policy_denying_s3_is_permission(run, moto_s3):
    key_id, secret = moto_s3.denied
    secrets = {"secret_access_key": secret}
    result = run("s3", config_for(moto_s3, key_id), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert "AccessDenied" in result.message and "s3:ListAllMyBuckets" in result.message
    assert "the server says" not in result.message  # moto's "Access Denied" adds nothing
    result = run("s3", config_for(moto_s3, key_id, bucket=moto_s3.bucket), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert moto_s3.bucket in result.message


def test_temporary_credentials_with_session_token(run, moto_s3):
    key_id, secret, token = moto_s3.temp
    secrets = {"secret_access_key": secret, "session_token": token}
    result = run("s3", config_for(moto_s3, key_id, bucket=moto_s3.bucket), secrets)
    assert result.ok, result
    assert_no_secrets(result, secrets)


def test_wrong_session_token_is_auth(run, moto_s3, fake):
    key_id, secret, _ = moto_s3.temp
    secrets = {"secret_access_key": secret, "session_token": fake.sha256()}
    result = run("s3", config_for(moto_s3, key_id), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "session token" in result.message


def test_session_token_with_a_permanent_key_is_auth(run, moto_s3, fake):
    config, secrets = reader(moto_s3)
    secrets = {**secrets, "session_token": fake.sha256()}
    assert_failure(run("s3", config, secrets), "auth", secrets, stage="auth")


def test_virtual_hosted_addressing_needs_a_host_name(run, moto_s3):
    config, secrets = reader(moto_s3, bucket=moto_s3.bucket, addressing="virtual")
    result = run("s3", config, secrets)
    assert_failure(result, "config", secrets)
    assert "path-style" in result.message


# --- the network ------------------------------------------------------------------------------------------

def test_closed_port_is_refused(run, fake):
    config = {"endpoint": f"http://127.0.0.1:{free_port()}", "access_key_id": "AKIA" + "A" * 16}
    assert_failure(run("s3", config, {"secret_access_key": fake.sha1()}), "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole, fake):
    host, port = blackhole
    config = {"endpoint": f"http://{host}:{port}", "access_key_id": "AKIA" + "A" * 16}
    result, elapsed = run_timed("s3", config, {"secret_access_key": fake.sha1()}, timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_virtual_hosted_name_that_does_not_resolve_suggests_path_style(run, fake):
    config = {"endpoint": "https://s3.example.invalid", "access_key_id": "AKIA" + "A" * 16, "bucket": "logs",
              "addressing": "virtual"}
    result = run("s3", config, {"secret_access_key": fake.sha1()})
    assert_failure(result, "dns", stage="resolve")
    assert "logs.s3.example.invalid" in result.message and "path-style" in result.message


def test_unknown_host_is_dns(run, fake):
    config = {"endpoint": "https://s3.nonexistent.invalid", "access_key_id": "AKIA" + "A" * 16}
    assert_failure(run("s3", config, {"secret_access_key": fake.sha1()}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole, fake):
    """Like tests.integrations.cancel_quickly, with a secret: without one the test stops before connecting."""
    host, port = blackhole
    config = {"endpoint": f"http://{host}:{port}", "access_key_id": "AKIA" + "A" * 16}

    async def main():
        task = asyncio.create_task(run_test(registry.get("s3"), config, {"secret_access_key": fake.sha1()},
                                            timeout=10))
        await asyncio.sleep(0.2)
        assert not task.done()
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.3


# --- answers moto never gives: a local server speaking S3's documented errors ----------------------------

def s3_error(status: int, code: str, message: str, headers: dict | None = None, **extra: str):
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in extra.items())
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>" \
           f"{fields}<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    return status, {"Content-Type": "application/xml", "Server": "AmazonS3", **(headers or {})}, body


LISTING = ("<?xml version='1.0' encoding='UTF-8'?><ListAllMyBucketsResult "
           "xmlns='http://s3.amazonaws.com/doc/2006-03-01/'><Owner><ID>1</ID><DisplayName>ops</DisplayName></Owner>"
           "<Buckets><Bucket><Name>a</Name></Bucket><Bucket><Name>b</Name></Bucket></Buckets>"
           "</ListAllMyBucketsResult>")


@pytest.fixture(scope="module")
def fake_s3():
    def handle(req):
        route = req.path.strip("/")
        if route == "skewed":
            return s3_error(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                            "current time is too large.", ServerTime="2001-01-01T00:00:00Z",
                            RequestTime=req.headers["x-amz-date"], MaxAllowedSkewMilliseconds="900000")
        if route == "slow":
            return s3_error(503, "SlowDown", "Please reduce your request rate.", {"Retry-After": "3"})
        if route == "wrong-region":
            return s3_error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the "
                            "region 'us-east-1' is wrong; expecting 'eu-central-1'", Region="eu-central-1")
        if route == "moved/far-away":  # HEAD of a bucket in another region: bodyless 301
            return 301, {"x-amz-bucket-region": "ap-southeast-2", "Server": "AmazonS3"}, ""
        if route == "plain-http":  # a proxy sending http:// to https://
            return 301, {"Location": "https://storage.example.com/?x=1"}, ""
        if route == "html":
            return 200, {"Content-Type": "text/html"}, "<html><body>Welcome to nginx!</body></html>"
        return 200, {"Content-Type": "application/xml", "Server": "AmazonS3"}, LISTING

    with http_server(handle) as server:
        yield server


def fake_config(server, path: str = "", **changes) -> dict:
    return {"endpoint": f"{server.url}/{path}".rstrip("/"), "access_key_id": "AKIAIOSFODNN7EXAMPLE", **changes}


SECRET = {"secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def test_fake_listing_counts_buckets_and_owner(run, fake_s3):
    result = run("s3", fake_config(fake_s3), SECRET)
    assert result.ok, result
    assert result.server_version == "AmazonS3"
    assert (result.details["buckets"], result.details["owner"]) == ("2", "ops")
    sent = fake_s3.requests[-1].headers
    assert sent["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
    assert sent["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_clock_skew_is_config_with_a_clock_hint(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "skewed"), SECRET)
    assert_failure(result, "config", SECRET, stage="auth")
    assert "clock" in result.message and "RequestTimeTooSkewed" in result.message
    assert "ahead of the server" in result.message  # the server's ServerTime is in 2001


def test_slow_down_is_rate_limited_with_retry_after(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "slow"), SECRET)
    assert_failure(result, "rate_limited", SECRET, stage="probe")
    assert "SlowDown" in result.message
    assert "3 s" in result.hint


def test_wrong_region_names_the_right_one(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "wrong-region"), SECRET)
    assert_failure(result, "config", SECRET, stage="auth")
    assert "eu-central-1" in result.message


def test_bucket_in_another_region_names_it(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "moved", bucket="far-away"), SECRET)
    assert_failure(result, "config", SECRET)
    assert "ap-southeast-2" in result.message


def test_redirected_endpoint_names_the_new_address(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "plain-http"), SECRET)
    assert_failure(result, "config", SECRET, stage="probe")
    assert "https://storage.example.com/ " in result.message


def test_endpoint_that_is_not_s3_is_reported(run, fake_s3):
    result = run("s3", fake_config(fake_s3, "html"), SECRET)
    assert_failure(result, "unknown", SECRET, stage="probe")
    assert "not with an S3 bucket list" in result.message


def test_https_with_private_ca(run, tls_files):
    def handle(req):
        return 200, {"Content-Type": "application/xml", "Server": "MinIO"}, LISTING

    with http_server(handle, tls=tls_files.server_context()) as server:
        config = {"endpoint": server.url, "access_key_id": "AKIAIOSFODNN7EXAMPLE"}
        result = run("s3", {**config, "ca_file": str(tls_files.ca)}, SECRET)
        assert result.ok, result
        assert result.server_version == "MinIO"
        assert_failure(run("s3", config, SECRET), "tls", SECRET, stage="tls")
        assert run("s3", {**config, "verify_tls": False}, SECRET).ok


# --- settings --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "words"), [
    ({"endpoint": "ftp://files.example.com"}, "http:// or https://"),
    ({"endpoint": "https://AKIA:secret@minio.example.com"}, "user:password@"),
    ({"endpoint": "https://minio.example.com:99999"}, "not valid"),
    ({"region": "EU West"}, "region"),
    ({"bucket": "s3://my-bucket/path"}, "bucket name"),
    ({"access_key_id": ""}, "access key ID is empty"),
    ({"ca_file": "/nonexistent/ca.pem", "endpoint": "https://minio.example.com"}, "CA certificate"),
])
def test_bad_settings_are_config(run, changes, words):
    config = {"endpoint": "http://127.0.0.1:9", "access_key_id": "AKIAIOSFODNN7EXAMPLE", **changes}
    result = run("s3", config, SECRET)
    assert_failure(result, "config", SECRET)
    assert words in result.message


def test_empty_secret_is_config(run):
    result = run("s3", {"endpoint": "http://127.0.0.1:9", "access_key_id": "AKIAIOSFODNN7EXAMPLE"}, {})
    assert_failure(result, "config")
    assert "secret access key is empty" in result.message


def test_connection_info_names_endpoint_and_bucket_never_keys(registry):
    integration = registry.get("s3").integration()
    info = integration.connection_info({"region": "eu-west-1", "bucket": "reports", "access_key_id": "AKIAX"})
    assert info.display_url == "https://s3.eu-west-1.amazonaws.com/reports"
    assert (info.host, info.port, info.database, info.user) == ("s3.eu-west-1.amazonaws.com", 443, "reports",
                                                                "AKIAX")
    info = integration.connection_info({"endpoint": "http://[::1]:9000/", "access_key_id": "minio"})
    assert info.display_url == "http://[::1]:9000"
    assert (info.host, info.port, info.database) == ("::1", 9000, None)
    info = integration.connection_info({"endpoint": "https://key:hunter22@minio.example.com"})
    assert "hunter22" not in info.display_url
    info = integration.connection_info({"region": "cn-north-1"})
    assert info.display_url == "https://s3.cn-north-1.amazonaws.com.cn"
