"""`connhub signin NAME` in a real subprocess, against the real authlib authorization server, with the
throwaway Secret Service of scripts/with-test-keyring (skips without one). The test plays the browser with
the URL the command prints."""

from __future__ import annotations

import subprocess
import sys

from tests.services.oauth_server import fake_provider, play_browser
from tests.test_cli import _env


def test_add_then_signin_then_test(cli, tmp_path, secret_service_keyring):
    data_dir = tmp_path / "data"
    with fake_provider() as provider:
        done = cli(data_dir, "config", "gitlab", "--set", f"cfg:oauth_client_id={provider.client.client_id}",
                       "--secret-stdin", "cfg:oauth_client_secret", stdin=provider.client.client_secret + "\n")
        assert done.returncode == 0, done.stderr
        done = cli(data_dir, "add", "gitlab", "work", "--set", f"base_url={provider.url}",
                       "--set", "auth_method=oauth2", "--no-prompt")
        assert done.returncode == 0, done.stderr
        assert "connhub signin 'work'" in done.stdout
        done = cli(data_dir, "test", "work")
        assert done.returncode == 1 and "sign in again" in done.stdout + done.stderr

        process = subprocess.Popen([sys.executable, "-m", "connhub", "signin", "work", "--no-browser",
                                    "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=_env(data_dir))
        try:
            url = ""
            for line in process.stderr:
                if line.strip().startswith("http://"):
                    url = line.strip()
                    break
            assert url.startswith(f"{provider.url}/oauth/authorize?")
            page = play_browser(url)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        assert page.status_code == 200
        assert process.returncode == 0, err
        assert out.strip() == "Signed in work with GitLab"

        done = cli(data_dir, "test", "work", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        token = provider.tokens[-1]
        for text in (out, err, done.stdout, done.stderr, cli(data_dir, "show", "work", "--json").stdout):
            assert token.access_token not in text and token.refresh_token not in text
        done = cli(data_dir, "remove", "work")
        assert done.returncode == 0
