"""The SigV4 signer against AWS's published S3 examples and against botocore's S3SigV4Auth.

The examples are those of "Signature Calculations for the Authorization Header: Transferring Payload in a Single
Chunk" in the Amazon S3 API reference (access key AKIAIOSFODNN7EXAMPLE, 24 May 2013, us-east-1). botocore is a
test-only dependency here (it comes with moto); the product signs without it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connhub.integrations.s3 import sigv4

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "examplebucket.s3.amazonaws.com"
WHEN = "20130524T000000Z"


@pytest.mark.parametrize(("path", "query", "extra", "signature"), [
    # GET Object, with a Range header
    ("/test.txt", [], {"Range": "bytes=0-9"},
     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    # GET Bucket Lifecycle: a parameter without a value
    ("/", [("lifecycle", "")], {}, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    # Get Bucket (List Objects): parameters sorted by name
    ("/", [("prefix", "J"), ("max-keys", "2")], {},
     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
])
def test_aws_published_examples(path, query, extra, signature):
    headers = {"Host": HOST, "x-amz-date": WHEN, "x-amz-content-sha256": sigv4.EMPTY_SHA256, **extra}
    header = sigv4.sign("GET", path, query, headers, access_key_id=KEY_ID, secret_key=SECRET, region="us-east-1")
    signed = ";".join(sorted(name.lower() for name in headers))
    assert header == (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20130524/us-east-1/s3/aws4_request, "
                      f"SignedHeaders={signed}, Signature={signature}")


def test_missing_date_or_host_is_refused():
    with pytest.raises(ValueError, match="x-amz-date"):
        sigv4.sign("GET", "/", [], {"host": HOST}, access_key_id=KEY_ID, secret_key=SECRET, region="us-east-1")
    with pytest.raises(ValueError, match="host"):
        sigv4.sign("GET", "/", [], {"x-amz-date": WHEN}, access_key_id=KEY_ID, secret_key=SECRET,
                   region="us-east-1")


def botocore_header(method, url, query, headers, key_id, secret, token, region) -> str:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, headers={k: v for k, v in headers.items()
                                                          if k.lower() != "x-amz-security-token"},
                         params=query)
    request.context["timestamp"] = headers["x-amz-date"]
    auth = S3SigV4Auth(Credentials(key_id, secret, token), "s3", region)
    auth._modify_request_before_signing(request)  # adds the date, the token and the payload hash headers
    canonical = auth.canonical_request(request)
    auth._inject_signature_to_request(request, auth.signature(auth.string_to_sign(request, canonical), request))
    return request.headers["Authorization"]


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD"]),
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True),
    query=st.lists(st.tuples(st.text(min_size=1, max_size=8), text), max_size=4),
    region=st.sampled_from(["us-east-1", "eu-central-1", "auto", "garage"]),
    secret=st.text(min_size=1, max_size=40),
    token=st.none() | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789/+=", min_size=1, max_size=60),
    extra=st.sampled_from([{}, {"Range": "bytes=0-9"}, {"X-Amz-Meta-Note": "  two   spaces  "}]),
    port=st.sampled_from([None, 9000]),
)
def test_same_signature_as_botocore(method, bucket, query, region, secret, token, extra, port):
    host = "127.0.0.1" + (f":{port}" if port else "")
    path = f"/{sigv4.uri_encode(bucket)}"
    headers = {"host": host, "x-amz-date": WHEN, "x-amz-content-sha256": sigv4.EMPTY_SHA256, **extra}
    if token:
        headers["x-amz-security-token"] = token
    ours = sigv4.sign(method, path, query, headers, access_key_id=KEY_ID, secret_key=secret, region=region)
    theirs = botocore_header(method, f"http://{host}{path}", query, headers, KEY_ID, secret, token, region)
    assert ours == theirs


def test_uri_encoding_is_aws_uri_encode():
    assert sigv4.uri_encode("a b+c/d~e_f-g.h*") == "a%20b%2Bc%2Fd~e_f-g.h%2A"
    assert sigv4.uri_encode("photos/2024 01.jpg", keep_slash=True) == "photos/2024%2001.jpg"
    assert sigv4.canonical_query([("b", ""), ("a", "z z"), ("a", "y")]) == "a=y&a=z%20z&b="
    assert sigv4.uri_encode("é") == "%C3%A9"
