"""Helpers shared by the PyInstaller spec and build-deb: which shared libraries an ELF file needs, which
Debian package owns a file, and the Debian packages a finished bundle needs from the system.

    python packaging/bundle.py depends DIST_DIR     # one Debian package per line; exit 1 if a library is missing

Standard library only (it runs inside PyInstaller's spec and from the build script); needs binutils'
`readelf`, `ldconfig` and `dpkg-query`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


def needed(files: Iterable[Path]) -> dict[Path, list[str]]:
    """DT_NEEDED sonames of each ELF file (one readelf call per 200 files)."""
    files = [Path(f) for f in files]
    result: dict[Path, list[str]] = {f: [] for f in files}
    for start in range(0, len(files), 200):
        chunk = files[start:start + 200]
        out = subprocess.run(["readelf", "-dW", *map(str, chunk)], capture_output=True, text=True).stdout
        current = chunk[0] if len(chunk) == 1 else None
        for line in out.splitlines():
            if line.startswith("File: "):
                current = Path(line[6:].strip())
            elif current is not None:
                match = re.search(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", line)
                if match:
                    result.setdefault(current, []).append(match.group(1))
    return result


def _candidates(path: str) -> set[str]:
    """Debian 12 registers some libraries under /lib and others under /usr/lib (merged /usr): try both."""
    paths = {path, os.path.realpath(path)}
    for p in list(paths):
        if p.startswith("/usr/lib/"):
            paths.add(p[4:])
        elif p.startswith("/lib/"):
            paths.add("/usr" + p)
    return paths


def owners(paths: Iterable[str]) -> dict[str, str | None]:
    """Debian package that owns each path (None when dpkg knows none), in one dpkg-query call."""
    paths = list(dict.fromkeys(paths))
    if not paths:
        return {}
    tries = {p: _candidates(p) for p in paths}
    everything = sorted(set().union(*tries.values()))
    out = subprocess.run(["dpkg-query", "-S", *everything], capture_output=True, text=True).stdout
    owned: dict[str, str] = {}
    for line in out.splitlines():
        package, sep, file = line.partition(": ")
        if sep and not line.startswith("diversion"):
            owned[file.strip()] = package.split(",")[0].split(":")[0].strip()
    return {p: next((owned[c] for c in sorted(tries[p]) if c in owned), None) for p in paths}


def system_library_paths() -> dict[str, str]:
    """soname -> path from the dynamic linker's cache (x86-64/this machine's 64-bit libraries)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"\s*(\S+) \((.*?)\) => (\S+)", line)
        if match and ("x86-64" in match.group(2) or "64bit" in match.group(2) or not found.get(match.group(1))):
            found.setdefault(match.group(1), match.group(3))
    return found


def bundle_depends(dist: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({Debian package: {sonames}}, {missing soname: {files needing it}}) for the libraries the bundle's
    ELF files need and do not carry themselves."""
    elves = [p for p in dist.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
    carried = {p.name for p in dist.rglob("*") if ".so" in p.name or p.name == "connhub"}
    wanted: dict[str, set[str]] = {}
    for file, names in needed(elves).items():
        for name in names:
            if name not in carried:
                wanted.setdefault(name, set()).add(str(file.relative_to(dist)))
    cache = system_library_paths()
    missing = {name: users for name, users in wanted.items() if name not in cache}
    owned = owners(cache[name] for name in wanted if name in cache)
    packages: dict[str, set[str]] = {}
    for name in wanted:
        if name in cache:
            package = owned.get(cache[name])
            if package is None:
                missing[name] = wanted[name]  # on this machine, but from no Debian package
            else:
                packages.setdefault(package, set()).add(name)
    return packages, missing


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "depends":
        print(__doc__, file=sys.stderr)
        return 2
    packages, missing = bundle_depends(Path(argv[1]))
    for name, users in sorted(missing.items()):
        print(f"bundle.py: {name} (needed by {', '.join(sorted(users)[:3])}) is in no Debian package on this "
              "machine: install the package that provides it, or leave the binary out of the bundle",
              file=sys.stderr)
    for package in sorted(packages):
        print(package)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
