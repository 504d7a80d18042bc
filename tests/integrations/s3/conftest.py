"""A moto S3 server (in-process, threaded) that really checks signatures and IAM policies.

moto accepts any credentials until its IAM check is switched on: in server mode `POST /moto-api/reset-auth`
with a number N lets N more requests through unauthenticated, then authenticates every one (the server-mode
side of `set_initial_no_auth_action_count`, moto's docs/docs/iam.rst). The fixture creates its users, keys,
policies, a role and a bucket unauthenticated, then posts 0, and on exit restores "no auth" and resets moto's
(process-wide) state, so nothing leaks into other tests in the same session.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.support.servers import wait_for_port
from tests.support.services import free_port, missing

REGION = "us-east-1"
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
DENY_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
TRUST_ANYONE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"AWS": "*"}}]}


@pytest.fixture(scope="module")
def moto_s3(fake):
    """An S3 endpoint with IAM on: `reader` may do anything in S3, `denied` is denied S3 by policy,
    `temp` are temporary credentials (session token) of a role that may use S3, and `bucket` exists."""
    try:
        import boto3
        import httpx
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto[server] and boto3 are not installed (pip install 'moto[server]')")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_port("127.0.0.1", port):
            raise RuntimeError(f"moto did not start on port {port}")
        setup = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="setup",
                     aws_secret_access_key="setup")
        iam, s3, sts = (boto3.client(name, **setup) for name in ("iam", "s3", "sts"))
        bucket = f"connhub-{fake.pystr(min_chars=8, max_chars=8).lower()}"
        s3.create_bucket(Bucket=bucket)

        def user(name: str, policy: dict) -> dict:
            iam.create_user(UserName=name)
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-s3", PolicyDocument=json.dumps(policy))
            return iam.create_access_key(UserName=name)["AccessKey"]

        reader, denied = user("reader", ALLOW_S3), user("denied", DENY_S3)
        role = iam.create_role(RoleName="s3-user", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE))["Role"]
        iam.put_role_policy(RoleName="s3-user", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        temp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="connhub")["Credentials"]
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()  # IAM on from here
        yield SimpleNamespace(
            endpoint=endpoint, host="127.0.0.1", port=port, bucket=bucket,
            reader=(reader["AccessKeyId"], reader["SecretAccessKey"]),
            denied=(denied["AccessKeyId"], denied["SecretAccessKey"]),
            temp=(temp["AccessKeyId"], temp["SecretAccessKey"], temp["SessionToken"]),
        )
    finally:
        try:
            import httpx

            httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf")
            httpx.post(f"{endpoint}/moto-api/reset")
        finally:
            server.stop()
