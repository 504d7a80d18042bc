"""packaging/bundle.py, which the spec and build-deb use to leave Debian's libraries out of the bundle and
name them in Depends; and packaging/depends.txt, which must list what the Makefile installs for Qt."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import bundle  # noqa: E402


def test_depends_txt_names_what_the_makefile_installs_for_qt():
    makefile = (ROOT / "Makefile").read_text()
    block = re.search(r"^RUN_PACKAGES :=(.*?)(?<!\\)\n", makefile, re.S | re.M).group(1)
    run_packages = set(block.replace("\\", " ").split()) - {"python3-venv"}  # the venv is for `make run` only
    depends = {line.strip() for line in (ROOT / "packaging" / "depends.txt").read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")}
    assert depends == run_packages


@pytest.mark.skipif(not shutil.which("readelf"), reason="readelf not installed (binutils)")
def test_needed_reads_an_extension_modules_libraries():
    import _ctypes  # an ELF extension module of this Python

    needed = bundle.needed([Path(_ctypes.__file__)])
    assert any(name.startswith("libc.so") for name in needed[Path(_ctypes.__file__)])


@pytest.mark.skipif(not (shutil.which("dpkg-query") and shutil.which("ldconfig")), reason="not a Debian system")
def test_owners_finds_the_package_of_a_system_library_under_either_lib_prefix():
    libc = bundle.system_library_paths()["libc.so.6"]
    owned = bundle.owners([libc, "/nonexistent/libnothing.so.1"])
    assert owned[libc] == "libc6"
    assert owned["/nonexistent/libnothing.so.1"] is None


@pytest.mark.skipif(not (shutil.which("dpkg-query") and shutil.which("readelf")), reason="not a Debian system")
def test_bundle_depends_names_packages_and_reports_missing_libraries(tmp_path):
    import _ctypes

    shutil.copy(_ctypes.__file__, tmp_path / "_ctypes.so")
    packages, missing = bundle.bundle_depends(tmp_path)
    assert "libc6" in packages and not missing
