"""Whether a process that left a mark (a keyring journal note, a running workflow row) is still alive."""

from __future__ import annotations

import os


def pid_alive(pid: int | None) -> bool:
    """A process of this machine with this pid exists (one we may not signal counts: it exists)."""
    if not pid or pid <= 0:
        return False  # os.kill(0, …) would signal our own process group
    if pid == os.getpid():
        return True  # one of this process's own threads
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
