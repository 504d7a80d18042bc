"""Client B of the team tests: its own HOME, data folder and keyring (run under scripts/with-test-keyring, which
gives this process a throwaway Secret Service of its own). Runs `connhub` commands in order and writes what
each did as JSON: python tests/team/client.py HOME STEPS.json OUT.json, STEPS = [{"args": [...], "stdin": ""}].
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

home, steps_file, out_file = map(Path, sys.argv[1:4])
os.environ.update(HOME=str(home), CONNHUB_DATA_DIR=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
os.environ.pop("CONNHUB_DB_URL", None)

from connhub.cli import main  # noqa: E402

results = []
for step in json.loads(steps_file.read_text()):
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.TextIOWrapper(io.BytesIO(step.get("stdin", "").encode()), encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(step["args"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    results.append({"args": step["args"], "code": code, "out": out.getvalue(), "err": err.getvalue()})
out_file.write_text(json.dumps(results))
