"""The services, wired once for the window or the command line.

The Hub holds no logic of its own: each service gets only what it needs (the store, the vault, the registry,
another service) and never the Hub. Each is built on first use, so a command or the window's start pays only
for what it touches (the registry validates manifests, the store opens and migrates the database).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from connhub.core.records import DEFAULT_WORKSPACE
from connhub.services.first_paint import default_data_dir

if TYPE_CHECKING:
    from connhub.plugins.registry import Registry
    from connhub.services.actions import Actions
    from connhub.services.app_config import AppConfig
    from connhub.services.credentials import Credentials
    from connhub.services.instances import Instances
    from connhub.services.oauth import OAuth
    from connhub.services.plugin_hooks import PluginHooks
    from connhub.services.prober import Prober
    from connhub.services.secrets import Secrets, Vault
    from connhub.services.settings import Settings
    from connhub.services.team import Team
    from connhub.services.transfer import Transfer
    from connhub.services.types import Types
    from connhub.services.webhooks import Webhooks
    from connhub.services.workflows import Workflows
    from connhub.storage.change_feed import ChangeFeed
    from connhub.storage.repository import InstanceStore

T = TypeVar("T")


class _Wired(Generic[T]):
    """A part built on first use, once per Hub even when two worker threads ask at the same moment (a second
    Secrets would keep a second, diverging memory of "ask every time" secrets)."""

    def __init__(self, build: Callable[[Hub], T]):
        self._build = build

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, hub: Hub | None, owner: type | None = None) -> T:
        if hub is None:
            return self  # type: ignore[return-value]
        try:
            return hub.__dict__[self._name]
        except KeyError:
            with hub._wiring:
                if self._name not in hub.__dict__:
                    hub.__dict__[self._name] = self._build(hub)
                return hub.__dict__[self._name]


def _registry(hub: Hub) -> Registry:
    from connhub.plugins.catalog import disabled_plugins
    from connhub.plugins.registry import Registry

    return Registry.discover(disabled=disabled_plugins(hub.data_dir))


def _store(hub: Hub) -> InstanceStore:
    from connhub.storage.db import open_engine, sqlite_url
    from connhub.storage.private import make_private_dir
    from connhub.storage.repository import InstanceStore

    if not hub.db_url:
        make_private_dir(hub.data_dir)  # 0700 when the Hub is the first to make it, as setup_logging does
    url = hub.db_url
    if hub.team_config is not None and url == hub.team_config.db_url:  # the joined catalog: password from the keyring
        from connhub.services.team import catalog_url

        url = catalog_url(hub.team_config, hub.vault, hub.data_dir)
    return InstanceStore(open_engine(url or sqlite_url(hub.data_dir)))


def _vault(hub: Hub) -> Vault:
    from connhub.storage.vault import KeyringVault

    return KeyringVault()


def _settings(hub: Hub) -> Settings:
    from connhub.services.settings import Settings

    return Settings(hub.store)


def _types(hub: Hub) -> Types:
    from connhub.services.types import Types

    return Types(hub.registry)


def _secrets(hub: Hub) -> Secrets:
    from connhub.services.secrets import Secrets

    return Secrets(hub.vault, hub.store, lambda: hub.shared)


def _app_config(hub: Hub) -> AppConfig:
    from connhub.services.app_config import AppConfig

    return AppConfig(hub.types, hub.store, hub.secrets)


def _instances(hub: Hub) -> Instances:
    from connhub.services.instances import Instances

    return Instances(hub.store, hub.types, hub.secrets, hub._workspace, listener=hub.plugin_hooks)


def _oauth(hub: Hub) -> OAuth:
    from connhub.services.oauth import OAuth

    return OAuth(hub.types, hub.app_config, hub.secrets, hub.store)


def _credentials(hub: Hub) -> Credentials:
    from connhub.services.credentials import Credentials

    return Credentials(hub.app_config, hub.secrets, hub.oauth)


def _prober(hub: Hub) -> Prober:
    from connhub.services.prober import Prober

    return Prober(hub.types, hub.credentials, hub.secrets, hub.settings, hub.store, hub.oauth,
                  listener=hub.plugin_hooks)


def _actions(hub: Hub) -> Actions:
    from connhub.services.actions import Actions
    from connhub.storage.runs import ActionLog

    return Actions(hub.types, hub.credentials, ActionLog(hub.store.engine), hub.settings)


def _plugin_hooks(hub: Hub) -> PluginHooks:
    from connhub.services.plugin_hooks import PluginHooks

    return PluginHooks(hub.registry, hub.store, hub.data_dir)


def _transfer(hub: Hub) -> Transfer:
    from connhub.services.transfer import Transfer

    return Transfer(hub.instances, hub.types, hub.secrets)


def _webhooks(hub: Hub) -> Webhooks:
    from connhub.services.webhooks import Webhooks
    from connhub.storage.inbox import Inbox

    return Webhooks(hub.types, hub.credentials, Inbox(hub.store.engine))


def _team(hub: Hub) -> Team:
    from connhub.services.team import Team

    return Team(hub.data_dir, hub.vault)


def _shared(hub: Hub) -> Vault:
    from connhub.services.team import shared_store

    return shared_store(hub.team_config, hub.vault, hub.store, hub.data_dir)


def _changes(hub: Hub) -> ChangeFeed:
    from connhub.storage.change_feed import feed_for

    return feed_for(hub.store.engine)


def _workflows(hub: Hub) -> Workflows:
    from connhub.services.workflows import Workflows
    from connhub.storage.workflows import WorkflowStore

    return Workflows(hub.actions, hub.instances, WorkflowStore(hub.store.engine))


class Hub:
    registry = _Wired(_registry)
    store = _Wired(_store)
    vault = _Wired(_vault)
    settings = _Wired(_settings)
    types = _Wired(_types)
    secrets = _Wired(_secrets)
    app_config = _Wired(_app_config)
    instances = _Wired(_instances)
    oauth = _Wired(_oauth)
    credentials = _Wired(_credentials)
    prober = _Wired(_prober)
    transfer = _Wired(_transfer)
    actions = _Wired(_actions)
    webhooks = _Wired(_webhooks)
    workflows = _Wired(_workflows)
    plugin_hooks = _Wired(_plugin_hooks)
    team = _Wired(_team)
    changes = _Wired(_changes)  # the catalog's change feed (live refresh of open windows)
    shared = _Wired(_shared)  # the team's OpenBao (shared-scope secrets); VaultError when not joined with one

    def __init__(self, data_dir: Path | None = None, db_url: str | None = None, registry: Registry | None = None,
                 vault: Vault | None = None, workspace: str = DEFAULT_WORKSPACE):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        from connhub.services.team import TeamConfig

        self.team_config = TeamConfig.load(self.data_dir)  # a joined team catalog (`connhub team join`)
        self.db_url = db_url or os.environ.get("CONNHUB_DB_URL") or (self.team_config and self.team_config.db_url)
        self._workspace = workspace
        self._wiring = threading.RLock()
        if registry is not None:
            self.__dict__["registry"] = registry
        if vault is not None:
            self.__dict__["vault"] = vault

    def close(self) -> None:
        if "plugin_hooks" in self.__dict__:  # hooks still running finish (bounded), then teardown()
            self.plugin_hooks.close()
        if "changes" in self.__dict__:
            self.changes.stop()
        if "store" in self.__dict__:
            self.store.engine.dispose()
