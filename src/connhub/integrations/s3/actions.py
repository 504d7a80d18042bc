"""S3's actions: list_objects (ListObjectsV2, capped), get_object (to a chosen file), put_object, delete_object.

Every request is signed with the connection test's SigV4 code (`sigv4`) and addressed as the test addresses
its bucket (path-style or virtual-hosted, `target_of`); failures are classified by the test's S3 error-code
table. A download goes to a temporary file beside the chosen one (mode 0600) and is renamed into place only
once complete, never over an existing file unless `overwrite` is set: a failed or cancelled download leaves
nothing behind. An upload's SHA-256 is computed first (it is signed), then the file is streamed. A delete asks
HeadObject first, since DeleteObject answers 204 whether or not the key was there: the result says which.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, NotFound
from connhub.core.integration import Values
from connhub.core.net import handshake

if TYPE_CHECKING:
    import httpx

#: Keys asked per ListObjectsV2 request (S3's own maximum).
PAGE_KEYS = 1000
#: The largest single PUT S3 accepts.
MAX_PUT = 5 * 1024 ** 3
_CHUNK = 1 << 20


class S3Actions:
    """Mixed into S3Integration: `list_objects`, `get_object`, `put_object`, `delete_object`."""

    async def list_objects(self, params: Values, config: Values, secrets: Values,
                           ctx: ActionContext) -> dict[str, Any]:
        from connhub.integrations.s3 import _xml

        limit = int(params.get("limit") or PAGE_KEYS)
        prefix = str(params.get("prefix") or "")
        objects: list[dict[str, Any]] = []
        token: str | None = None
        truncated = False
        async with _Session(config, secrets, params, ctx) as session:
            while True:
                query = [("list-type", "2"), ("max-keys", str(min(PAGE_KEYS, limit - len(objects))))]
                if prefix:
                    query.append(("prefix", prefix))
                if token:
                    query.append(("continuation-token", token))
                body = await session.call("GET", None, query)
                root = _xml(body)
                if root is None:
                    raise ConfigError("The endpoint's answer to ListObjectsV2 is not S3's XML: check the endpoint")
                for item in _all(root, "Contents"):
                    fields = {_local(child.tag): child.text or "" for child in item}
                    objects.append({"key": fields.get("Key", ""), "size": int(fields.get("Size") or 0),
                                    "last_modified": fields.get("LastModified") or None,
                                    "etag": fields.get("ETag", "").strip('"') or None})
                more = _text(root, "IsTruncated") == "true"
                token = _text(root, "NextContinuationToken")
                ctx.progress(f"{len(objects)} objects")
                if not more or not token:
                    break
                if len(objects) >= limit:
                    truncated = True
                    break
        return {"bucket": session.bucket, "prefix": prefix, "objects": objects, "count": len(objects),
                "truncated": truncated}

    async def get_object(self, params: Values, config: Values, secrets: Values,
                         ctx: ActionContext) -> dict[str, Any]:
        destination = Path(os.path.expanduser(str(params["path"])))
        overwrite = bool(params.get("overwrite"))
        if destination.is_dir():
            raise ConfigError("The chosen path is a folder: name the file to write")
        if not destination.parent.is_dir():
            raise ConfigError("The chosen file's folder does not exist")
        if destination.exists() and not overwrite:
            raise ConfigError("The chosen file exists: choose another name, or set overwrite")
        key = _key(params)
        async with _Session(config, secrets, params, ctx) as session:
            temp = destination.parent / f".{destination.name}.connhub-{os.getpid()}-{id(ctx):x}.part"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as out:
                    response = await session.download("GET", key, out)
                _place(temp, destination, overwrite)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        return {"bucket": session.bucket, "key": key, "path": str(destination), "size": destination.stat().st_size,
                "etag": response.headers.get("etag", "").strip('"') or None,
                "content_type": response.headers.get("content-type") or None}

    async def put_object(self, params: Values, config: Values, secrets: Values,
                         ctx: ActionContext) -> dict[str, Any]:
        key = _key(params)
        if ("file" in params) == ("text" in params):
            raise ConfigError("Give either a file to upload or the text to store, not both")
        if "file" in params:
            source = Path(os.path.expanduser(str(params["file"])))
            if not source.is_file():
                raise ConfigError("The file to upload does not exist or is not a file")
            size = source.stat().st_size
            if size > MAX_PUT:
                raise ConfigError("The file is larger than 5 GiB, the most one S3 PUT takes")
            digest = hashlib.sha256()
            with source.open("rb") as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
            content_type = params.get("content_type") or "application/octet-stream"
            body: Any = _file_chunks(source)
        else:
            data = str(params["text"]).encode("utf-8")
            size, digest = len(data), hashlib.sha256(data)
            content_type = params.get("content_type") or "text/plain; charset=utf-8"
            body = data
        headers = {"content-type": str(content_type), "content-length": str(size)}
        async with _Session(config, secrets, params, ctx) as session:
            response = await session.upload(key, body, digest.hexdigest(), headers)
        return {"bucket": session.bucket, "key": key, "size": size,
                "etag": response.headers.get("etag", "").strip('"') or None}

    async def delete_object(self, params: Values, config: Values, secrets: Values,
                            ctx: ActionContext) -> dict[str, Any]:
        key = _key(params)
        async with _Session(config, secrets, params, ctx) as session:
            try:
                await session.call("HEAD", key, [])
                existed = True
            except NotFound:
                existed = False
            if existed:
                await session.call("DELETE", key, [])
        if not existed and params.get("must_exist", True):
            raise NotFound(f"No object {key!r} in bucket {session.bucket!r}: nothing was deleted")
        return {"bucket": session.bucket, "key": key, "deleted": existed}


def _key(params: Values) -> str:
    key = str(params["key"])
    if not key or key.startswith("/"):
        raise ConfigError("The object key must not be empty or start with '/'")
    return key


def _place(temp: Path, destination: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, destination)
        return
    try:  # a hard link fails if the name was taken meanwhile: never clobber a file that appeared
        os.link(temp, destination)
    except FileExistsError:
        raise ConfigError("The chosen file appeared while downloading: nothing was overwritten") from None
    except OSError:  # a file system without hard links: a final check, then rename
        if destination.exists():
            raise ConfigError("The chosen file exists: choose another name, or set overwrite") from None
        os.rename(temp, destination)
        return
    temp.unlink()


async def _file_chunks(path: Path):
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            yield chunk


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(root: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in root if _local(child.tag) == name]


def _text(root: ElementTree.Element, name: str) -> str | None:
    found = _all(root, name)
    return (found[0].text or "").strip() if found else None


class _Session:
    """One client for one run: the test's target, credentials, TLS and error classification."""

    def __init__(self, config: Values, secrets: Values, params: Values, ctx: ActionContext):
        from connhub.integrations.s3 import credentials_of, target_of

        bucket = str(params.get("bucket") or config.get("bucket") or "").strip()
        if not bucket:
            raise ConfigError("No bucket: give one, or set the connection's bucket")
        self.target = target_of({**config, "bucket": bucket})
        self.bucket = bucket
        self._creds = credentials_of(config, secrets)
        self._config = config
        self._ctx = ctx
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> _Session:
        import httpx

        from connhub.core.net import resolve_host, tls_context

        await resolve_host(self.target.request_host, self.target.port, self._ctx)
        config = self._config
        verify = (tls_context(config.get("ca_file"), verify=bool(config.get("verify_tls", True)))
                  if self.target.scheme == "https" else False)
        self._client = httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(self._ctx.remaining()),
                                         trust_env=False, follow_redirects=False)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._client is not None
        await self._client.aclose()

    def _request(self, method: str, key: str | None, query: list[tuple[str, str]], payload_hash: str,
                 extra: dict[str, str] | None = None, content: Any = None) -> httpx.Request:
        from connhub.integrations.s3 import USER_AGENT, sigv4

        target = self.target
        path = target.path()
        if key is not None:
            path = path.rstrip("/") + "/" + sigv4.uri_encode(key, keep_slash=True)
        key_id, secret, token = self._creds
        headers = {"host": target.host_header, "x-amz-date": sigv4.amz_date(), "x-amz-content-sha256": payload_hash,
                   **(extra or {})}
        if token:
            headers["x-amz-security-token"] = token
        headers["authorization"] = sigv4.sign(method, path, query, headers, access_key_id=key_id,
                                              secret_key=secret, region=target.region, payload_hash=payload_hash)
        headers["user-agent"] = USER_AGENT
        url = f"{target.scheme}://{target.host_header}{path}"
        if query:
            url += "?" + sigv4.canonical_query(query)
        assert self._client is not None
        return self._client.build_request(method, url, headers=headers, content=content,
                                          timeout=self._ctx.remaining())

    def _raise(self, response: httpx.Response, body: bytes, key: str | None) -> None:
        from connhub.integrations.s3 import _classify, _failure

        failure = _failure(self.target, response, body)
        if failure.code == "NoSuchKey" or (failure.code is None and response.status_code == 404 and key):
            raise NotFound(f"No object {key!r} in bucket {self.bucket!r} (NoSuchKey)")
        raise _classify(failure, self.target)

    async def call(self, method: str, key: str | None, query: list[tuple[str, str]]) -> bytes:
        from connhub.integrations.s3 import _map_transport_error, _send, sigv4

        with handshake(self._ctx, lambda exc: _map_transport_error(exc, self._ctx)):
            response, body = await _send(self._client, self._request(method, key, query, sigv4.EMPTY_SHA256))
        if response.status_code >= 300:
            self._raise(response, body, key)
        return body

    async def download(self, method: str, key: str, out: Any) -> httpx.Response:
        from connhub.integrations.s3 import MAX_BODY, _map_transport_error, sigv4

        assert self._client is not None
        size = 0
        with handshake(self._ctx, lambda exc: _map_transport_error(exc, self._ctx)):
            response = await self._client.send(self._request(method, key, [], sigv4.EMPTY_SHA256), stream=True)
            try:
                if response.status_code >= 300:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BODY:
                            break
                    self._raise(response, bytes(body), key)
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    size += len(chunk)
                    self._ctx.progress(f"{size:,} bytes")
            finally:
                await response.aclose()
        return response

    async def upload(self, key: str, content: Any, payload_hash: str, headers: dict[str, str]) -> httpx.Response:
        from connhub.integrations.s3 import _map_transport_error

        assert self._client is not None
        with handshake(self._ctx, lambda exc: _map_transport_error(exc, self._ctx)):
            request = self._request("PUT", key, [], payload_hash, headers, content)
            response = await self._client.send(request)
            body = await response.aread()
        if response.status_code >= 300:
            self._raise(response, body, key)
        return response
