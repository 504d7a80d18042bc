"""The .desktop file and the AppStream metainfo that the .deb installs (src/connhub/resources/): valid, and
consistent with the app, its icon and its version. packaging/build-deb runs the same validators."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import connhub

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "src" / "connhub" / "resources"
DESKTOP = RESOURCES / "connhub.desktop"
METAINFO = RESOURCES / "io.github.connhub.connhub.metainfo.xml"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_starts_the_installed_command_with_the_installed_icon():
    entry = desktop_entry()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"].split()[0] in scripts  # `connhub`, /usr/bin/connhub in the .deb
    assert (RESOURCES / f"{entry['Icon']}.svg").is_file()  # installed as hicolor/scalable/apps/<Icon>.svg
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"


def test_desktop_file_name_is_the_one_the_window_announces():
    # gui/shell/app.py: app.setDesktopFileName("connhub") (the Wayland app id, how docks find the icon).
    app_py = (ROOT / "src" / "connhub" / "gui" / "shell" / "app.py").read_text()
    announced = re.search(r'setDesktopFileName\("([^"]+)"\)', app_py).group(1)
    assert DESKTOP.name == f"{announced}.desktop"
    assert desktop_entry()["StartupWMClass"] == announced


def test_metainfo_matches_its_file_name_the_desktop_file_and_the_version():
    component = ET.parse(METAINFO).getroot()
    assert METAINFO.name == f"{component.findtext('id')}.metainfo.xml"
    assert component.find("launchable[@type='desktop-id']").text == DESKTOP.name
    assert component.findtext("provides/binary") == desktop_entry()["Exec"].split()[0]
    newest = component.find("releases/release")
    assert newest is not None, "add a <release version=…> for the current version"
    assert newest.get("version") == connhub.__version__, (
        f"the newest <release> in {METAINFO.name} is {newest.get('version')}, connhub is {connhub.__version__}: "
        "add a <release> for this version")


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-validate not installed "
                    "(apt-get install desktop-file-utils; `make package` does)")
def test_desktop_file_validate():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstreamcli not installed "
                    "(apt-get install appstream; `make package` does)")
def test_appstreamcli_validate():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", "--pedantic", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
