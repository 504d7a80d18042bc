"""What a run on a saved instance needs before it starts: the instance's config and secrets (vault or this
session), its type's app-level settings, and an OAuth token refreshed if it is about to expire. Tests and
actions both start here; anything in the way is a classified `NotReady`, never a stray exception."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from connhub.core.errors import HINTS, ConfigError, ErrorClass
from connhub.core.records import InstanceRecord, SecretsNeeded, VaultError

if TYPE_CHECKING:
    from connhub.services.app_config import AppConfig
    from connhub.services.oauth import OAuth
    from connhub.services.secrets import Secrets

REAUTH_HINT = "Use \"Sign in again\": the instance and its settings are kept."


class NotReady(Exception):
    """The run cannot start: `error_class`, the `stage` it stopped at, and what to do (`hint`)."""

    def __init__(self, message: str, error_class: ErrorClass, stage: str, hint: str):
        super().__init__(message)
        self.error_class, self.stage, self.hint = error_class, stage, hint


class Credentials:
    def __init__(self, app_config: AppConfig, secrets: Secrets, oauth: OAuth):
        self._app_config = app_config
        self._secrets = secrets
        self._oauth = oauth

    async def for_instance(self, record: InstanceRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        """(config, secrets) with the type's app-level values after the instance's own; blocking parts on the
        loop's executor. Raises NotReady."""
        from connhub.core.oauth import OAuthError
        from connhub.services.oauth import ReauthNeeded

        loop = asyncio.get_running_loop()
        try:
            secrets = await loop.run_in_executor(None, self._secrets.read, record)
            app_config, app_secrets = await loop.run_in_executor(None, self._app_config.for_test, record.type)
            secrets = await self._oauth.refresh_if_needed(record, secrets)  # an expiring token is renewed first
        except (VaultError, SecretsNeeded) as exc:
            raise NotReady(str(exc), ErrorClass.CONFIG, "secrets", HINTS[ErrorClass.CONFIG]) from None
        except ConfigError as exc:
            raise NotReady(str(exc), ErrorClass.CONFIG, "settings", HINTS[ErrorClass.CONFIG]) from None
        except ReauthNeeded as exc:
            raise NotReady(str(exc), ErrorClass.AUTH, "auth", REAUTH_HINT) from None
        except OAuthError as exc:
            raise NotReady(str(exc), ErrorClass.UNKNOWN, "auth", HINTS[ErrorClass.UNKNOWN]) from None
        return with_app(record.config, app_config), with_app(secrets, app_secrets)

    async def for_values(self, type_name: str, config: dict[str, Any], secrets: dict[str, Any]
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Unsaved form values with the type's app-level values. Raises NotReady."""
        loop = asyncio.get_running_loop()
        try:
            app_config, app_secrets = await loop.run_in_executor(None, self._app_config.for_test, type_name)
        except ConfigError as exc:
            raise NotReady(str(exc), ErrorClass.CONFIG, "settings", HINTS[ErrorClass.CONFIG]) from None
        return with_app(config, app_config), with_app(secrets, app_secrets)


def with_app(values: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    """The instance's values, then the type's app-level ones (an instance never holds a `cfg:` key)."""
    return {**values, **{k: v for k, v in app.items() if k not in values}}
