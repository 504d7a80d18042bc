"""Shared secrets in OpenBao (or Vault): one KV v2 secret per instance, each save a new version.

Spoken over httpx against the documented KV v2 HTTP API (`/v1/<mount>/data/<path>`, `/metadata/<path>`)
rather than through hvac: httpx is already a dependency, the four calls needed are small, and owning the
request lets every answer be bounded (size, time) and every failure be classified here, the way the vault's
keyring calls are. The token is handed in by a callable (it lives in the user's keyring) and never appears in
a message. There is no fallback: a store that cannot answer raises VaultError and nothing is written anywhere
else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from connhub.core.records import VaultError, VaultStatus

SHARED = "shared"
DEFAULT_TIMEOUT = 5.0
MAX_ANSWER = 1 << 20  # a KV answer is a few KiB; more is not an OpenBao worth reading
ROOT = "connhub"  # every catalog's secrets live under <mount>/data/connhub/<catalog id>/


class OpenBaoVault:
    """The `Vault` protocol (services/secrets.py) over KV v2: `owner` is an instance id, its fields the keys of
    one secret at `<mount>/data/connhub/<catalog id>/<instance id>`."""

    mode = SHARED  # the secret mode whose rows this vault's items belong to (services/reconcile.py)

    def __init__(self, addr: str, mount: str, token: Callable[[], str | None], catalog_id: Callable[[], str],
                 timeout: float = DEFAULT_TIMEOUT):
        self.addr = addr.rstrip("/")
        self.mount = mount.strip("/")
        self._token = token
        self._catalog_id = catalog_id
        self.timeout = timeout
        self._client: Any = None  # one connection pool for the vault's life: Test all reads hundreds of secrets
        self._lock = threading.Lock()

    def client(self) -> Any:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, trust_env=False, follow_redirects=False)
            return self._client

    # --- paths --------------------------------------------------------------------------------------------

    def prefix(self) -> str:
        """This catalog's folder in the mount, the one path a member's policy grants (README, Team mode)."""
        return f"{ROOT}/{self._catalog_id()}"

    def _path(self, kind: str, owner: str) -> str:
        return f"/v1/{quote(self.mount)}/{kind}/{quote(self.prefix())}/{quote(owner, safe='')}"

    # --- the Vault protocol ------------------------------------------------------------------------------

    def status(self) -> VaultStatus:
        """Without a network call: is there a token to speak with (the calls themselves say the rest)."""
        problem = None if self._token() else ("No OpenBao token in your keyring for this team: run `connhub team "
                                              "join … --token-stdin` (or Settings → Team) again.")
        return VaultStatus(problem is None, f"OpenBao {self.addr}", problem)

    def ensure_usable(self) -> None:
        if problem := self.status().problem:
            raise VaultError(problem)

    def ping(self) -> None:
        self.identity()

    def store(self, owner: str, secrets: Mapping[str, str]) -> None:
        if secrets:
            data, _version = self.read(owner)
            self._write(owner, {**data, **secrets})

    def fetch(self, owner: str, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        if not keys:
            return {}
        data, _version = self.read(owner)
        return {k: data[k] for k in keys if k in data}

    def delete(self, owner: str, keys: Iterable[str]) -> list[str]:
        """Remove these fields: a new version without them, or — none left — the secret with all its versions."""
        keys = list(keys)
        if not keys:
            return []
        data, version = self.read(owner)
        removed = [k for k in keys if k in data]
        left = {k: v for k, v in data.items() if k not in keys}
        if left:
            if removed:
                self._write(owner, left)
        elif version:
            self._call("DELETE", self._path("metadata", owner))
        return removed

    def list_users(self) -> set[str] | None:
        return None  # the lost-secret check is the keyring's; a listing would need a wider policy

    # --- KV v2 ----------------------------------------------------------------------------------------------

    def read(self, owner: str) -> tuple[dict[str, str], int]:
        """(fields, version) of the newest version; ({}, 0) when there is none (or it was deleted)."""
        answer = self._call("GET", self._path("data", owner), missing_ok=True)
        if not answer or not isinstance(answer.get("data"), dict):
            return {}, 0
        data = answer["data"].get("data") or {}
        meta = answer["data"].get("metadata") or {}
        if not isinstance(data, dict):
            raise VaultError("OpenBao answered a shared secret in a shape connhub does not know (not an object)")
        return {str(k): str(v) for k, v in data.items()}, int(meta.get("version") or 0)

    def version(self, owner: str) -> int:
        return self.read(owner)[1]

    def _write(self, owner: str, data: dict[str, str]) -> int:
        answer = self._call("POST", self._path("data", owner), {"data": data})
        return int(((answer or {}).get("data") or {}).get("version") or 0)

    def identity(self) -> dict[str, Any]:
        """Who the token is (display name, policies, time left): also proves it is valid."""
        answer = self._call("GET", "/v1/auth/token/lookup-self") or {}
        data = answer.get("data") or {}
        return {"display_name": str(data.get("display_name", "")), "policies": list(data.get("policies") or []),
                "ttl": data.get("ttl")}

    def check_access(self) -> None:
        """Raise VaultError unless the token may read and write this catalog's secrets (asked, not tried)."""
        path = f"{self.mount}/data/{self.prefix()}/connhub-access-check"
        answer = self._call("POST", "/v1/sys/capabilities-self", {"paths": [path]}) or {}
        caps = set(answer.get(path) or answer.get("capabilities") or [])
        if "root" not in caps and not {"create", "read", "update"} <= caps:
            raise VaultError(f"The OpenBao token may not read and write {self.mount}/data/{self.prefix()}/* "
                             f"(it has: {', '.join(sorted(caps)) or 'nothing'}): ask for the team's member policy "
                             "(README, Team mode).")

    def _call(self, method: str, path: str, body: dict | None = None, missing_ok: bool = False) -> Any:
        import httpx

        token = self._token()
        if not token:
            self.ensure_usable()
        where = f"OpenBao at {_shown(self.addr)}"
        try:
            with self.client().stream(method, self.addr + path, headers={"X-Vault-Token": token or ""},
                                      content=None if body is None else json.dumps(body)) as response:
                raw = b""
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > MAX_ANSWER:
                        raise VaultError(f"{where} answered more than {MAX_ANSWER // 1024} KiB: not read")
        except httpx.TimeoutException:
            raise VaultError(f"{where} did not answer within {self.timeout:g} s: shared secrets cannot be read or "
                             "saved until it does (nothing was saved elsewhere).") from None
        except httpx.HTTPError as exc:
            raise VaultError(f"{where} cannot be reached ({type(exc).__name__}): shared secrets cannot be read or "
                             "saved until it is back (nothing was saved elsewhere).") from None
        status = response.status_code
        if status == 404 and missing_ok:
            return None
        if status in (401, 403):
            raise VaultError(f"{where} refused the token (HTTP {status}): it expired, was revoked or lacks the "
                             "team's policy. Get a new one and run `connhub team join` (or Settings → Team) again.")
        if status == 503:
            raise VaultError(f"{where} is sealed or not ready (HTTP 503): ask the team's OpenBao operator.")
        if status >= 400:
            raise VaultError(f"{where} refused the request (HTTP {status}).")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise VaultError(f"{where} answered something that is not JSON (HTTP {status}).") from None


def _shown(addr: str) -> str:
    """The address as it may be shown: scheme, host and port only (never a user:password@ part)."""
    parts = urlsplit(addr)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
