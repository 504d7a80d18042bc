"""The manifest's `oauth2` block: each rule breaks one field of GitLab's real manifest and pins the fix-it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connhub.core.manifest import Manifest, manifest_json_schema, manifest_problems

GITLAB = json.loads((Path(__file__).parents[2] / "src/connhub/integrations/gitlab/manifest.json").read_text())


def problems(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    raw = copy.deepcopy(GITLAB)
    change(raw)
    try:
        Manifest.model_validate(raw)
    except ValidationError as exc:
        return manifest_problems(exc)
    return []


def props(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["credentials"]["properties"]


def test_gitlab_and_github_oauth_blocks_are_valid():
    assert problems(lambda raw: None) == []


def test_every_oauth2_field_is_described_in_the_json_schema():
    block = manifest_json_schema()["$defs"]["OAuth2Spec"]["properties"]
    assert {"authorization_url", "token_url", "scopes", "client_id_field", "client_secret_field",
            "authorize_params", "headers"} <= set(block)
    assert all(field.get("description") for field in block.values())


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw["oauth2"].update(authorization_url="gitlab.com/oauth/authorize"),
     "oauth2.authorization_url 'gitlab.com/oauth/authorize' must be an http(s) URL"),
    (lambda raw: raw["oauth2"].update(scopes=["read_user api"]),
     "oauth2.scopes item 'read_user api' is not one scope: write each scope as its own list item"),
    (lambda raw: raw["oauth2"].update(authorize_params={"state": "x"}),
     "oauth2.authorize_params sets 'state', which connhub sets itself"),
    (lambda raw: raw["oauth2"].update(client_id_field="oauth_client_id"),
     "oauth2.client_id_field 'oauth_client_id' must be an app-level field: name it 'cfg:oauth_client_id'"),
    (lambda raw: raw["oauth2"].update(client_id_field="cfg:client"),
     "oauth2.client_id_field 'cfg:client' is not a credential field: add it to credentials.properties"),
    (lambda raw: props(raw)["cfg:oauth_client_secret"].pop("writeOnly"),
     "oauth2.client_secret_field 'cfg:oauth_client_secret' must be a secret: add \"writeOnly\": true"),
    (lambda raw: props(raw)["oauth_refresh_token"].pop("writeOnly"),
     "oauth2.refresh_token_field 'oauth_refresh_token' holds a token, which must stay in the keyring"),
    (lambda raw: props(raw)["oauth_access_token"].pop("x-show-if"),
     "oauth2.access_token_field 'oauth_access_token' must be shown only when signing in with OAuth"),
    (lambda raw: props(raw).pop("oauth_expires_at"),
     "oauth2.expires_at_field 'oauth_expires_at' is not a credential field"),
    (lambda raw: props(raw)["auth_method"].update({"enum": ["token"], "x-enum-labels": ["Access token"]}),
     "oauth2.method_value 'oauth2' is not one of 'auth_method''s enum values: add it to the enum"),
    (lambda raw: raw["oauth2"].update(method_field="how"),
     "oauth2.method_field 'how' is not a credential field"),
    (lambda raw: raw["oauth2"].update(token_url="{host}/oauth/token"),
     "oauth2.token_url uses {host}, which is not a credential field"),
    (lambda raw: raw["oauth2"].update(token_url="{token}/oauth/token"),
     "oauth2.token_url puts secret field 'token' into a URL: use a non-secret field"),
    (lambda raw: raw["oauth2"].update(headers={}),
     "oauth2.headers is empty, but the declarative test must send the access token"),
    (lambda raw: raw["oauth2"].update(headers={"Authorization": "Bearer {token}"}),
     "oauth2.headers never sends {oauth_access_token}"),
    (lambda raw: raw["oauth2"].update(headers={"Bad Header": "Bearer {oauth_access_token}"}),
     "oauth2.headers names header 'Bad Header', which is not a valid header name"),
    (lambda raw: raw["oauth2"].update(client="x"), "unknown key 'oauth2.client': remove it"),
])
def test_broken_oauth2_block_says_how_to_fix_it(change, message):
    found = problems(change)
    assert len(found) == 1 and found[0].startswith(message), found
