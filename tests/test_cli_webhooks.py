"""`connhub webhooks` (issue 19): trigger signs as the provider does, listen serves and prints each delivery
until Ctrl+C, log and replay read the inbox; the signing secret never reaches the terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx

from connhub.core.webhooks import Scheme, verify
from tests.support.servers import http_server

SECRET = "Canary-cli-whsec-4f1e"


def test_trigger_sends_a_payload_signed_as_stripe_signs_it(cli, tmp_path, memory_keyring):
    with http_server(lambda request: (200, {}, {"received": True})) as server:
        code, out, err = cli(tmp_path, "webhooks", "trigger", "stripe", "charge.succeeded", "--to", server.url + "/in",
                             "--secret-stdin", "--set", "data.object.amount=4200", stdin=SECRET + "\n")
    assert code == 0, err
    assert out.startswith("Sent stripe charge.succeeded to") and SECRET not in out + err
    request = server.requests[0]
    body = request.body
    assert json.loads(body)["data"]["object"]["amount"] == 4200
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert verify(Scheme("stripe"), SECRET, headers, body, time.time()).verdict is None


def test_trigger_refuses_unknown_events_and_types_without_webhooks(cli, tmp_path):
    code, _out, err = cli(tmp_path, "webhooks", "trigger", "stripe", "nope", "--to", "http://127.0.0.1:9/")
    assert code == 2 and "nope" in err
    code, _out, err = cli(tmp_path, "webhooks", "trigger", "redis", "x", "--to", "http://127.0.0.1:9/")
    assert code == 2 and "declares no signed webhooks" in err


def test_listen_prints_each_delivery_and_log_and_replay_read_the_inbox(cli, tmp_path, secret_service_keyring):
    """In children, as a user runs it: the instance saved with its signing secret in the real (throwaway)
    Secret Service, `listen` in the background, a signed and a forged delivery, Ctrl+C."""
    data_dir = tmp_path / "data"
    env = {**os.environ, "CONNHUB_DATA_DIR": str(data_dir)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    added = subprocess.run([sys.executable, "-m", "connhub", "add", "stripe", "pay", "--secret-env",
                            "secret_key=SK", "--secret-env", "webhook_secret=WH"], capture_output=True, text=True,
                           env={**env, "SK": "sk_test_" + "z" * 24, "WH": SECRET}, timeout=60)
    assert added.returncode == 0, added.stderr
    child = subprocess.Popen([sys.executable, "-m", "connhub", "webhooks", "listen", "pay", "--port", "0", "--json"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stderr.readline()
        url = re.search(r"at (http://\S+)", line).group(1)
        code, _out, err = cli(data_dir, "webhooks", "trigger", "stripe", "charge.succeeded", "--to", url,
                              "--secret-stdin", stdin=SECRET + "\n")
        assert code == 0, err
        assert httpx.post(url, content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}).status_code == 401
        shown = [json.loads(child.stdout.readline()) for _ in range(2)]
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 0
    assert [d["verdict"] for d in shown] == ["accepted", "stale"]  # t=1 is long past: refused before the digest
    assert SECRET not in json.dumps(shown)
    listed = subprocess.run([sys.executable, "-m", "connhub", "webhooks", "log", "pay", "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    logged = json.loads(listed.stdout)
    assert [d["verdict"] for d in logged] == ["stale", "accepted"]
    replayed = subprocess.run([sys.executable, "-m", "connhub", "webhooks", "replay", str(logged[1]["id"])],
                              capture_output=True, text=True, env=env, timeout=60)
    assert replayed.returncode == 0 and "valid against the event schema" in replayed.stdout
    assert SECRET not in listed.stdout + replayed.stdout + listed.stderr + replayed.stderr
