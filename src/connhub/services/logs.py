"""The app's log file, in the data dir. Only ids, types and outcome classes are logged, never values."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path


def setup_logging(data_dir: Path, level: int = logging.INFO) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "connhub.log"
    logger = logging.getLogger("connhub")
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    return path
