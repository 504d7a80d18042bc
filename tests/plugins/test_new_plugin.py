"""`connhub new-plugin NAME`: a plugin project whose own test suite passes at once (run here as its author
would: pytest in the project folder, in a subprocess), and which installs and is found like any plugin; the
example plugin's own suite runs the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.plugins.conftest import pip_install


def test_the_scaffolded_project_passes_its_own_tests(cli, tmp_path):
    code, out, err = cli(tmp_path, "new-plugin", "acme_kv", "--dir", str(tmp_path))
    assert code == 0, err
    project = tmp_path / "connhub-acme-kv"
    assert out.startswith(f"created {project}/")
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
        "README.md", "connhub_acme_kv/__init__.py", "connhub_acme_kv/icon.svg", "connhub_acme_kv/manifest.json",
        "pyproject.toml", "tests/conftest.py", "tests/test_acme_kv.py"]
    manifest = json.loads((project / "connhub_acme_kv" / "manifest.json").read_text())
    assert manifest["api_version"] == "1.0" and manifest["entrypoint"] == "connhub_acme_kv:AcmeKvIntegration"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CONNHUB_DATA_DIR"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with_keyring = os.environ.get("CONNHUB_TEST_KEYRING") == "secret-service"
    assert ("4 passed" if with_keyring else "3 passed, 1 skipped") in proc.stdout.splitlines()[-1]


def test_the_scaffolded_project_installs_and_is_listed(cli, on_path, tmp_path):
    assert cli(tmp_path, "new-plugin", "acme_db", "--dir", str(tmp_path)).returncode == 0
    on_path(pip_install([tmp_path / "connhub-acme-db"], tmp_path / "site-packages", tmp_path / "build"))
    code, out, err = cli(tmp_path / "data", "plugins", "--json")
    assert code == 0, err
    [row] = [r for r in json.loads(out) if r["name"] == "connhub-acme-db"]
    assert (row["version"], row["status"], row["types"]) == ("0.1.0", "ok", ["acme_db"])


def test_bad_names_taken_names_and_existing_folders_are_refused(cli, tmp_path):
    assert cli(tmp_path, "new-plugin", "Acme-KV", "--dir", str(tmp_path))[0] == 2
    code, _, err = cli(tmp_path, "new-plugin", "postgres", "--dir", str(tmp_path))
    assert code == 2 and "type 'postgres' exists already" in err
    assert cli(tmp_path, "new-plugin", "acme", "--dir", str(tmp_path))[0] == 0
    code, _, err = cli(tmp_path, "new-plugin", "acme", "--dir", str(tmp_path))
    assert code == 2 and "exists already" in err


def test_the_example_plugin_passes_its_own_tests(tmp_path):
    import shutil

    from tests.plugins.conftest import EXAMPLE

    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CONNHUB_DATA_DIR"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with_keyring = os.environ.get("CONNHUB_TEST_KEYRING") == "secret-service"
    assert ("3 passed" if with_keyring else "2 passed, 1 skipped") in proc.stdout.splitlines()[-1]
