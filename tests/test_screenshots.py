"""The README's pictures come from `scripts/screenshots.py`: run it, so the script cannot rot unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from tests.support.services import require_service

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ("main.png", "main-dark.png", "form.png", "failed-test.png", "type-picker.png", "actions.png", "events.png",
         "workflows.png")


def test_the_screenshot_script_draws_every_picture(tmp_path):
    require_service("Redis", "127.0.0.1", 6379)
    require_service("PostgreSQL", "127.0.0.1", 5432)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in SHOTS:
        image = QImage(str(tmp_path / name))
        assert not image.isNull() and image.width() > 400, name
        # Not a blank grab: a real window has many colours.
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 20, name
    light, dark = QImage(str(tmp_path / "main.png")), QImage(str(tmp_path / "main-dark.png"))
    assert light.pixelColor(light.width() - 20, light.height() // 2).lightness() > 180
    assert dark.pixelColor(dark.width() - 20, dark.height() // 2).lightness() < 80
