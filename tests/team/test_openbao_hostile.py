"""An OpenBao address that answers hugely, slowly or with something else than KV v2: a bounded read and a
classified VaultError within the timeout, never the token in a message, nothing stored."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connhub.core.records import VaultError
from connhub.storage.openbao import OpenBaoVault

TOKEN = "canary-token-hostile"


class Hostile(BaseHTTPRequestHandler):
    mode = "huge"

    def do_GET(self):  # noqa: N802
        if self.mode == "slow":
            time.sleep(3)
        body = {"huge": b"{\"data\": \"" + b"x" * (2 << 20) + b"\"}", "garbage": b"\x1b]0;owned\x07 not json",
                "slow": b"{}", "shape": b"{\"data\": {\"data\": [1, 2]}}"}[self.mode]
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what this test wants

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize(("mode", "said"), [("huge", "more than 1024 KiB"), ("garbage", "not JSON"),
                                            ("slow", "did not answer within 1 s"), ("shape", "shape")])
def test_a_hostile_answer_is_a_classified_error(hostile, mode, said):
    Hostile.mode = mode
    vault = OpenBaoVault(f"http://127.0.0.1:{hostile.server_port}", "secret", lambda: TOKEN, lambda: "cat",
                         timeout=1)
    started = time.monotonic()
    with pytest.raises(VaultError, match=said) as failed:
        vault.fetch("instance", ["password"])
    assert time.monotonic() - started < 2.5
    assert TOKEN not in str(failed.value) and "\x1b" not in str(failed.value)


def test_nothing_answers_at_all():
    from tests.support.services import free_port

    vault = OpenBaoVault(f"http://user:pw@127.0.0.1:{free_port()}", "secret", lambda: TOKEN, lambda: "cat")
    with pytest.raises(VaultError, match="cannot be reached") as failed:
        vault.store("instance", {"password": "p"})
    assert "pw" not in str(failed.value).replace("password", "")  # the address is shown without its user:password
