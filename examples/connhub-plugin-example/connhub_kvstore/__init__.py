"""A key-value file store: a folder of one file per key, with a lifecycle (connhub plugin API 1.0).

The hooks show what a plugin does with them: `setup` opens its log (in the folder connhub gives it),
`on_instance_saved` writes a note of the connection into the store's folder, `on_instance_deleted` removes it,
`on_test_finished` records the outcome, `teardown` closes the log. Hooks get the instance's record, never its
secrets.
"""

from __future__ import annotations

import json
from pathlib import Path

from connhub.core.errors import ConfigError, NotFound
from connhub.core.integration import Integration
from connhub.core.results import ProbeInfo

NOTE = "connhub-instance.json"


class KvStoreIntegration(Integration):
    log_file = None

    async def test_connection(self, config, secrets, ctx):
        folder = Path(config["folder"])
        if not folder.is_dir():
            raise NotFound(f"no folder {folder}: create it or choose another")
        keys = [p.name for p in folder.iterdir() if p.is_file() and p.name != NOTE]
        return ProbeInfo(server_version="file store", details={"keys": str(len(keys))})

    async def list_keys(self, params, config, secrets, ctx):
        folder = Path(config["folder"])
        if not folder.is_dir():
            raise ConfigError(f"no folder {folder}")
        return {"keys": sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != NOTE)}

    # --- the lifecycle (connhub.core.plugin.HOOKS) ---

    async def setup(self, ctx):
        self.log_file = (ctx.data_dir / "hooks.jsonl").open("a", encoding="utf-8")
        self._log("setup", type=ctx.type, plugin=ctx.plugin)

    async def teardown(self):
        self._log("teardown")
        self.log_file.close()

    async def on_instance_saved(self, instance, change):
        self._log("on_instance_saved", id=instance.id, name=instance.name, change=change)
        folder = Path(instance.config.get("folder") or "")
        if folder.is_dir():
            note = {"id": instance.id, "name": instance.name, "secret_fields": instance.secret_fields}
            (folder / NOTE).write_text(json.dumps(note), encoding="utf-8")

    async def on_instance_deleted(self, instance):
        self._log("on_instance_deleted", id=instance.id, name=instance.name)
        (Path(instance.config.get("folder") or "") / NOTE).unlink(missing_ok=True)

    async def on_test_finished(self, instance, result):
        self._log("on_test_finished", id=instance.id, ok=result.ok)

    def _log(self, hook, **values):
        self.log_file.write(json.dumps({"hook": hook, **values}) + "\n")
        self.log_file.flush()
