"""A hostile encrypted bundle cannot make an import take gigabytes: the scrypt cost it asks for (128·n·r bytes,
p passes) is bounded to 256 MiB and refused with a message before any key is derived."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap

import pytest

from connhub.services import transfer
from connhub.services.transfer import TransferError, read_import, seal

PASSPHRASE = "correct horse battery"
EXPORT = {"format": "connhub-export", "version": 1, "instances": []}


def _bundle_asking(n: int, r: int, p: int) -> str:
    """A real bundle whose header was then edited to ask for this KDF cost (what a hostile file does)."""
    bundle = json.loads(seal(json.dumps(EXPORT).encode(), PASSPHRASE))
    bundle["kdf"].update(n=n, r=r, p=p)
    return json.dumps(bundle)


REFUSAL = ": it was not exported by connhub, or was changed since; nothing was imported"


@pytest.mark.parametrize("n, r, p, message", [
    (2**17, 32, 1, "the bundle asks for 512 MiB of memory to derive its key (scrypt n=131072, r=32); connhub "
                   "allows at most 256 MiB"),
    (2**20, 8, 1, "the bundle asks for 1024 MiB of memory to derive its key (scrypt n=1048576, r=8); connhub "
                  "allows at most 256 MiB"),
    (2**16, 32, 2, "the bundle asks for 2 passes over 256 MiB to derive its key (scrypt n=65536, r=32, p=2): "
                   "512 MiB of work, and connhub allows at most 256 MiB"),
    (2**15, 8, 16, "the bundle asks for 16 passes over 32 MiB to derive its key (scrypt n=32768, r=8, p=16): "
                   "512 MiB of work, and connhub allows at most 256 MiB"),
])
def test_a_bundle_asking_for_more_than_256_mib_is_refused_before_deriving(n, r, p, message):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with pytest.raises(TransferError) as caught:
        read_import(_bundle_asking(n, r, p), PASSPHRASE)
    assert str(caught.value) == message + REFUSAL
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew < 64 * 1024, f"the refused bundle still took {grew // 1024} MiB"


def test_the_bundle_of_the_report_is_refused_in_a_process_that_could_not_afford_it():
    """n=2**20, r=32, p=16 took 4.2 GB and over 120 s. Run where 1.5 GB is all there is: a refusal, not a crash."""
    script = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
        from tests.services.test_bundle_limits import _bundle_asking, PASSPHRASE
        from connhub.services.transfer import TransferError, read_import
        try:
            read_import(_bundle_asking(2**20, 32, 16), PASSPHRASE)
        except TransferError as exc:
            print("refused:", exc)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused: the bundle asks for 4096 MiB of memory to derive its key (scrypt "
                                  "n=1048576, r=32); connhub allows at most 256 MiB")


def test_a_bundle_at_the_limit_still_opens(monkeypatch):
    """16 passes over 16 MiB: 256 MiB of work in all, the most allowed, is derived and decrypted."""
    monkeypatch.setattr(transfer, "SCRYPT", {"n": 2**14, "r": 8, "p": 16})
    bundle = seal(json.dumps(EXPORT).encode(), PASSPHRASE)
    monkeypatch.undo()
    assert json.loads(bundle)["kdf"]["p"] == 16
    assert read_import(bundle, PASSPHRASE) == EXPORT


def test_connhubs_own_bundles_are_well_inside_the_limit():
    kdf = transfer.SCRYPT
    assert 128 * kdf["n"] * kdf["r"] * kdf["p"] * 8 <= transfer.MAX_KDF_BYTES
