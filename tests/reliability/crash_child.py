"""A process that creates, edits and deletes instances for ever, for the crash-consistency test to SIGKILL.

Run as `python crash_child.py DATA_DIR TOKEN`: a *zygote* that imports connhub once, then for each line
`go SEED` on stdin forks a worker (which prints `ready N` once its database is open), waits for it (the test kills it) and prints `done N`
once it is reaped (a zombie would still look alive to the reconciliation). Forking saves ~1 s of imports
per trial. Every instance id starts with TOKEN (8 hex digits), so the test finds this run's keyring items
among everything else in the shared Secret Service.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
import uuid


def main() -> None:
    data_dir, token = sys.argv[1], sys.argv[2]
    import connhub.core.records as records
    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    def tagged_id() -> str:  # records' new instance ids → ids that start with the token
        return str(uuid.UUID(token + uuid.uuid4().hex[8:]))

    records._new_id = tagged_id
    registry = Registry.discover(plugins=False)
    for entry in (registry.get("http"), registry.get("redis")):
        entry.integration()  # import the code (and its summary helpers) before forking
    # Warm everything once in the zygote (keyring's backend discovery, SQLAlchemy's statement cache) with one
    # round of each operation, so a worker is inside an operation within milliseconds of starting.
    hub = Hub(data_dir=data_dir, registry=registry, vault=KeyringVault())
    warm = random.Random(0)
    while len(hub.instances.list()) < 3:
        work(hub, warm, steps=1)
    for record in hub.instances.list():
        work(hub, warm, steps=1, op="edit", record=record)
        hub.instances.delete(record.id)
    hub.store.engine.dispose()

    for line in sys.stdin:
        seed = int(line.split()[1])
        pid = os.fork()
        if pid == 0:
            try:
                hub.store.engine.dispose(close=False)  # the zygote's pooled connections are not ours
                hub.instances.list()  # the database is open: from here on, every moment is inside an operation
                print(f"ready {os.getpid()}", flush=True)
                work(hub, random.Random(seed))
            except BaseException:  # the test only ever kills it: anything else is a failure to show
                traceback.print_exc()
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        print(f"done {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


def work(hub, rng: random.Random, steps: int | None = None, op: str | None = None, record=None) -> None:
    """create → edit (a new secret; for http, a different secret field) → delete, on a few rows, until killed."""
    n = 0
    while steps is None or n < steps:
        n += 1
        rows = hub.instances.list()
        if op is None:
            op = "create" if len(rows) < 2 else rng.choice(["create", "edit", "edit", "delete"] if len(rows) < 5
                                                           else ["edit", "delete"])
        secret = uuid.uuid4().hex
        if op == "create":
            if rng.random() < 0.5:
                hub.instances.create("redis", f"r-{secret[:12]}", {"host": "127.0.0.1", "port": 6379, "password": secret})
            else:
                hub.instances.create("http", f"h-{secret[:12]}", {"base_url": "http://127.0.0.1:9", "auth.method": "basic",
                                                           "auth.username": "u", "auth.password": secret})
        elif op == "edit":
            record = record or rng.choice(rows)
            if record.type == "redis":
                hub.instances.update(record.id, {"host": "127.0.0.1", "port": 6379, "password": secret})
            elif "auth.password" in record.secret_fields:
                hub.instances.update(record.id, {"base_url": "http://127.0.0.1:9", "auth.method": "bearer", "auth.token": secret})
            else:
                hub.instances.update(record.id, {"base_url": "http://127.0.0.1:9", "auth.method": "basic",
                                       "auth.username": "u", "auth.password": secret})
        else:
            hub.instances.delete(rng.choice(rows).id)
        op = record = None


if __name__ == "__main__":
    main()
