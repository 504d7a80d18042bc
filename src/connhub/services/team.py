"""Team mode: joining a shared PostgreSQL catalog (and the team's OpenBao for shared secrets), its status, leaving.

What was joined is kept in `team.json` in the data folder (0600): the catalog's URL without its password, the
OpenBao address and mount. The OpenBao token and the database password are secrets: they live only in the
user's keyring (items `team-<folder>:openbao-token`, `…:db-password`), never in that file or the database. The
local SQLite catalog is not touched by joining, and is the catalog again after leaving. `CONNHUB_DB_URL`, when
set, still wins over the joined catalog (one command against another database).

This module imports only the standard library at the top: the window's first paint reads `TeamConfig`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connhub.services.secrets import Vault
    from connhub.storage.openbao import OpenBaoVault
    from connhub.storage.repository import InstanceStore

CONFIG_NAME = "team.json"
#: Keyring items `team-<folder>:openbao-token` and `team-<folder>:db-password`, one pair per data folder: two
#: folders (work, personal) share one keyring and may be in different teams.
TOKEN, DB_PASSWORD = "openbao-token", "db-password"
CONNECT_TIMEOUT = 5  # seconds: a dead catalog or OpenBao is said within this


class TeamError(Exception):
    """Joining failed at `stage` ("catalog", "secrets", "keyring", "input"); nothing was switched."""

    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


@dataclass
class TeamConfig:
    db_url: str  # without its password
    openbao_addr: str | None = None
    openbao_mount: str = "secret"

    @classmethod
    def load(cls, data_dir: Path) -> TeamConfig | None:
        try:
            raw = json.loads((Path(data_dir) / CONFIG_NAME).read_text(encoding="utf-8"))
            return cls(str(raw["db_url"]), raw.get("openbao_addr") or None, str(raw.get("openbao_mount") or "secret"))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # not joined (or a file we did not write): the local catalog

    def save(self, data_dir: Path) -> None:
        from connhub.storage.private import create_private_file, make_private_dir

        path = Path(data_dir) / CONFIG_NAME
        make_private_dir(path.parent)
        create_private_file(path)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def owner(data_dir: Path) -> str:
    """The keyring owner of this data folder's team token and database password."""
    return "team-" + hashlib.sha256(str(Path(data_dir).expanduser().resolve()).encode()).hexdigest()[:12]


def catalog_url(config: TeamConfig, vault: Vault, data_dir: Path) -> str:
    """The catalog's URL with its password from the keyring (if it has one)."""
    from sqlalchemy import make_url

    password = vault.fetch(owner(data_dir), [DB_PASSWORD]).get(DB_PASSWORD)
    url = make_url(config.db_url)
    return url.set(password=password).render_as_string(hide_password=False) if password else config.db_url


def shared_store(config: TeamConfig | None, vault: Vault, store: InstanceStore, data_dir: Path) -> OpenBaoVault:
    """The team's OpenBao as a Vault, its token read once from the keyring; VaultError when there is none."""
    from connhub.core.records import VaultError
    from connhub.storage.openbao import OpenBaoVault

    if config is None or not config.openbao_addr:
        raise VaultError("This instance's secrets are shared with a team, and this catalog has no shared secret "
                         "store: join the team with `connhub team join … --openbao-addr URL`.")
    cache: dict[str, Any] = {}

    def token() -> str | None:
        if "token" not in cache:
            cache["token"] = vault.fetch(owner(data_dir), [TOKEN]).get(TOKEN)
        return cache["token"]

    def catalog_id() -> str:
        if "id" not in cache:
            cache["id"] = store.get_setting("catalog_id") or "unknown"
        return cache["id"]

    return OpenBaoVault(config.openbao_addr, config.openbao_mount, token, catalog_id)


def shown_url(url: str) -> str:
    """A database URL as it may be printed: no password, whatever was given."""
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL: say so rather than echo it (it may hold a password)
        return "(not a database URL)"


class Team:
    def __init__(self, data_dir: Path, vault: Vault):
        self.data_dir = Path(data_dir)
        self._vault = vault

    @property
    def config(self) -> TeamConfig | None:
        return TeamConfig.load(self.data_dir)

    def join(self, db_url: str, openbao_addr: str | None = None, openbao_mount: str = "secret",
             token: str | None = None) -> dict[str, Any]:
        """Check the catalog (creating its schema if it is empty) and OpenBao (the token may read and write this
        catalog's folder), then keep the token in the keyring and switch. Raises TeamError; nothing is switched
        or stored unless both ends answered."""
        from sqlalchemy import make_url

        try:
            url = make_url(db_url.strip())
        except Exception:  # noqa: BLE001 - its text may carry a password: not echoed
            raise TeamError("input", "--db-url is not a database URL (postgresql://user@host/db)") from None
        if not url.drivername.startswith("postgresql"):
            raise TeamError("input", "a team catalog is a PostgreSQL database: --db-url postgresql://user@host/db")
        url = url.set(drivername="postgresql+psycopg")
        password = url.password
        full = url.render_as_string(hide_password=False)
        stored = url._replace(password=None).render_as_string(hide_password=False)  # set(password=None) keeps it
        if openbao_addr and not token:
            raise TeamError("input", "an OpenBao token is needed with --openbao-addr (give it with --token-stdin)")
        if openbao_addr and not openbao_addr.startswith(("http://", "https://")):
            raise TeamError("input", "--openbao-addr is an http:// or https:// URL")
        catalog_id = self._check_catalog(full, password)
        if openbao_addr:
            self._check_openbao(openbao_addr, openbao_mount, token or "", catalog_id)
        from connhub.core.records import VaultError

        try:
            self._vault.ensure_usable()
            self._vault.store(owner(self.data_dir), {k: v for k, v in ((TOKEN, token), (DB_PASSWORD, password)) if v})
            self._vault.delete(owner(self.data_dir), [k for k, v in ((TOKEN, token), (DB_PASSWORD, password)) if not v])
        except VaultError as exc:
            raise TeamError("keyring", f"{exc} (nothing was switched)") from None
        TeamConfig(stored, openbao_addr.rstrip("/") if openbao_addr else None, openbao_mount.strip("/")).save(
            self.data_dir)
        return self.status()

    def leave(self) -> bool:
        """Back to the local catalog, as it was; the team's token and password leave the keyring. False when
        not in a team."""
        path = self.data_dir / CONFIG_NAME
        if not path.exists():
            return False
        from connhub.core.records import VaultError

        path.unlink()
        try:
            self._vault.delete(owner(self.data_dir), [TOKEN, DB_PASSWORD])
        except VaultError:
            pass  # the switch back is done; a locked keyring keeps two items no catalog points at
        return True

    def status(self) -> dict[str, Any]:
        """Catalog, secret store and identity, and whether each answers now (within CONNECT_TIMEOUT)."""
        config = self.config
        identity: dict[str, Any] = {"user": getpass.getuser()}
        if config is None:
            return {"team": False, "catalog": {"url": "local SQLite catalog", "answers": True}, "secrets":
                    {"store": "keyring"}, "identity": identity}
        from sqlalchemy import make_url

        identity["database_user"] = make_url(config.db_url).username
        catalog: dict[str, Any] = {"url": shown_url(config.db_url), "answers": False, "problem": None}
        try:
            catalog["id"] = self._check_catalog(catalog_url(config, self._vault, self.data_dir), None, migrate=False)
            catalog["answers"] = True
        except Exception as exc:  # noqa: BLE001 - TeamError or VaultError (the keyring): said, not raised
            catalog["problem"] = str(exc)
        secrets: dict[str, Any] = {"store": "keyring"}
        if config.openbao_addr:
            from connhub.core.records import VaultError
            from connhub.storage.openbao import OpenBaoVault

            secrets = {"store": "openbao", "addr": config.openbao_addr, "mount": config.openbao_mount,
                       "answers": False, "problem": None}
            try:
                token = self._vault.fetch(owner(self.data_dir), [TOKEN]).get(TOKEN)
                bao = OpenBaoVault(config.openbao_addr, config.openbao_mount, lambda: token,
                                   lambda: catalog.get("id", "unknown"), timeout=CONNECT_TIMEOUT)
                secrets["path"] = f"{config.openbao_mount}/data/{bao.prefix()}/"
                who = bao.identity()
                identity["openbao"] = who["display_name"]
                secrets.update(answers=True, policies=who["policies"], token_ttl_s=who["ttl"])
            except VaultError as exc:
                secrets["problem"] = str(exc)
        return {"team": True, "catalog": catalog, "secrets": secrets, "identity": identity}

    def _check_catalog(self, url: str, password: str | None, migrate: bool = True) -> str:
        """The catalog's id; opening (and, joining, migrating) it. TeamError, worded without the password."""
        from sqlalchemy import create_engine, text

        from connhub.storage.db import open_engine

        engine = None
        try:
            engine = open_engine(url) if migrate else create_engine(
                url, connect_args={"connect_timeout": CONNECT_TIMEOUT})
            with engine.connect() as conn:
                found = conn.execute(text("SELECT value FROM settings WHERE key = 'catalog_id'")).scalar()
        except Exception as exc:  # noqa: BLE001 - a driver's error, classified below
            raise TeamError("catalog", _catalog_problem(exc, url, password)) from None
        finally:
            if engine is not None:
                engine.dispose()
        if not found:
            raise TeamError("catalog", f"{shown_url(url)} is not a connhub catalog (run `connhub team join` to "
                            "create one in an empty database)")
        return str(found)

    def _check_openbao(self, addr: str, mount: str, token: str, catalog_id: str) -> None:
        from connhub.core.records import VaultError
        from connhub.storage.openbao import OpenBaoVault

        bao = OpenBaoVault(addr, mount, lambda: token, lambda: catalog_id, timeout=CONNECT_TIMEOUT)
        try:
            bao.identity()
            bao.check_access()
        except VaultError as exc:
            raise TeamError("secrets", f"{exc} (nothing was switched)") from None


def _catalog_problem(exc: BaseException, url: str, password: str | None) -> str:
    """One line on why the catalog cannot be used: the driver's first line, clipped, never the password."""
    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in filter(None, (password, os.environ.get("PGPASSWORD"))):
        first = first.replace(secret, "********")
    return f"The catalog database {shown_url(url)} cannot be used: {first[:300]} (nothing was switched)"
