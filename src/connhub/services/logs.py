"""The app's log file, in the data dir. Only ids, types and outcome classes are logged, never values.

The log names instances, so it is the owner's only (0600, in a 0700 folder), its rotations too."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from connhub.storage.private import make_private_dir, open_private


class PrivateRotatingFileHandler(RotatingFileHandler):
    """Opens (and, after a rotation, reopens) the log 0600 whatever the umask."""

    def _open(self):
        return open_private(Path(self.baseFilename), self.mode, encoding=self.encoding or "utf-8")


def setup_logging(data_dir: Path, level: int = logging.INFO) -> Path:
    make_private_dir(data_dir)
    path = data_dir / "connhub.log"
    logger = logging.getLogger("connhub")
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        handler = PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    return path


def tighten_data_dir(data_dir: Path) -> str | None:
    """An older connhub's 0755 data folder (0644 files) made private again, as the CLI does at its start; the
    notice (also logged) when something changed, None otherwise. Never raises."""
    from connhub.storage.private import tighten_data_dir as tighten

    return tighten(data_dir)
