"""Plugin hooks in process: what a save of a plugin type costs with its lifecycle hooks, against the same save
without them.

The example plugin's Key-value file store (examples/connhub-plugin-example, loaded with connhub.testing's
`load_plugin`) saved N times by `Hub.instances.update`: with its hooks (each save schedules
`on_instance_saved`, which writes a note into the store's folder on the hook thread) and with the listener
taken off (no hook at all). Rounds alternate; the figures are medians per save: the time the caller waits (the
save and scheduling its hook; goal ≤ 1.2× the save without hooks; each hook finishes, untimed, before the next
save) and, for context, the time the hook itself took on its thread (`plugin_hooks.times`, mean per call).

Usage: python benchmarks/plugins.py [--saves 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actions import memory_vault  # noqa: E402
from table import header, ms, row  # noqa: E402


def saves(hub, record_id: str, folder: Path, n: int) -> float:
    """Seconds the caller waits per save (median of n saves of the same instance). Each save's hook is let finish
    before the next save starts, untimed: a user saves one thing at a time, and the hook is not theirs to wait
    for."""
    spent = []
    for i in range(n):
        started = time.perf_counter()
        hub.instances.update(record_id, {"folder": str(folder)}, name=f"notes {i}")
        spent.append(time.perf_counter() - started)
        hub.plugin_hooks.wait()
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    from connhub.services.hub import Hub
    from connhub.testing import load_plugin

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        folder = tmp / "store"
        folder.mkdir()
        hub = Hub(data_dir=tmp / "data", registry=load_plugin(ROOT / "examples" / "connhub-plugin-example"),
                  vault=memory_vault())
        record = hub.instances.create("kvstore", "notes", {"folder": str(folder)})
        hub.plugin_hooks.wait()
        listener = hub.instances._listener
        hooked, bare = [], []
        for _ in range(args.rounds):
            hub.instances._listener = listener
            hooked.append(saves(hub, record.id, folder, args.saves))
            hub.plugin_hooks.wait()
            hub.instances._listener = None
            bare.append(saves(hub, record.id, folder, args.saves))
        spent = hub.plugin_hooks.times["connhub-plugin-example"]["on_instance_saved"]
        hub.close()
    h, b = statistics.median(hooked), statistics.median(bare)
    if not args.no_header:
        header()
    row(f"save of a plugin type with its on_instance_saved hook, per save (median of {args.rounds} rounds of "
        f"{args.saves})", ms(b), ms(h), h / b, "≤ 1.2×", h / b <= 1.2)
    row("… the hook itself, on the hook thread, per call", "—", ms(spent.ms / 1000 / spent.calls), None, "—", None)


if __name__ == "__main__":
    main()
