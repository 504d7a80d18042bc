"""Files only their owner can read: the data folder 0700, the database, its -wal/-shm, the log and the types
cache 0600 (as ssh and gpg keep theirs).

The database names every host, user and port; the log names instances. Modes are set when each is created,
whatever the umask: a folder by mkdir then chmod, a file by os.open with 0600 (SQLite gives -wal and -shm the
database file's mode, so creating connhub.db 0600 covers them too). A data folder an older connhub left 0755
is tightened once at start by `tighten_data_dir`, which returns the one-line notice to show. Nothing here
imports SQLAlchemy: the window's first paint uses it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: What connhub itself writes in its data folder (the database with its journal files, the log and its
#: rotations, the types cache): tightened with the folder.
_OWN_FILES = ("connhub.db", "connhub.db-wal", "connhub.db-shm", "connhub.db-journal", "connhub.log",
              "connhub.log.1", "connhub.log.2", "types-cache.json")

log = logging.getLogger(__name__)


def make_private_dir(path: Path) -> Path:
    """Create the folder 0700 if it does not exist (its parents as mkdir -p makes them); an existing folder is
    left as it is (`tighten_data_dir` deals with that, once, with a notice)."""
    path = Path(path)
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True)
    except FileExistsError:
        return path
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode passes through the umask: a 0o277 umask would leave 0500
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty file 0600 unless it exists; True when it was created. An existing file keeps its mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)  # the umask may have taken bits away from 0600 (never added any)
    finally:
        os.close(fd)
    return True


def open_private(path: Path, mode: str = "a", encoding: str = "utf-8"):
    """open() for a file connhub writes: created 0600; one an older version left readable by others is
    tightened (only the owner can chmod; anything else is left, not refused)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_FILE)
        return open(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def tighten_data_dir(data_dir: Path) -> str | None:
    """Make an existing data folder (and connhub's own files in it) private again; the notice to show once
    when something was too open, None otherwise. Never raises: a folder that is not ours is reported."""
    data_dir = Path(data_dir)
    try:
        info = os.stat(data_dir)
    except OSError:
        return None  # not created yet: it will be made private when it is
    if not stat.S_ISDIR(info.st_mode):
        return None
    loosened = [name for name in _OWN_FILES if _too_open(data_dir / name)]
    if not info.st_mode & 0o077 and not loosened:
        return None
    was = stat.S_IMODE(info.st_mode)
    try:
        if info.st_mode & 0o077:
            os.chmod(data_dir, PRIVATE_DIR)
        for name in loosened:
            os.chmod(data_dir / name, PRIVATE_FILE)
    except OSError as exc:
        notice = (f"connhub: the data folder {data_dir} can be read by other users (mode {was:04o}) and could not "
                  f"be made private ({exc.strerror}): run chmod 700 on it")
    else:
        if info.st_mode & 0o077:
            notice = (f"connhub: the data folder {data_dir} could be read by other users (mode {was:04o}): "
                      "it is now 0700")
        else:
            notice = f"connhub: {', '.join(loosened)} in {data_dir} could be read by other users: now 0600"
    log.warning("%s", notice)
    return notice


def _too_open(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and bool(info.st_mode & 0o077)
