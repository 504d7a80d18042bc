"""Connection tests in a child process, so that a window running hundreds of them stays responsive.

Test all of 500 instances runs 500 drivers' connects, handshakes and parsers. In the window's process that
work holds the GIL in stretches the Qt event loop cannot interrupt: it stalled 60-80 ms (and the raw driver
alone, on the same loop, 45-60 ms) in benchmarks/tests_speed.py. A process of its own has its own GIL and its
own event loop; the window only sends the prepared tests and reads their results.

The protocol is JSON lines. The parent writes one job per line to the child's stdin and closes it when it has
no more; the child answers one line per job on stdout, in the order they finish, and exits once every job is
answered. Secrets travel only through this private pipe: never through the command line, the environment, a
file or the child's stderr (which the parent discards). Cancelling kills the child: every test still running
ends with it, and what finished was already answered.

The parent's part (`ProbeWorker`) has the signature of `services.testing.run_test`, so `Hub.test_instance` and
`services.batch.test_many` use it without knowing where the test runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.core.errors import ErrorClass
from connhub.core.results import StageResult, TestResult
from connhub.launch import WORKER_ARGUMENT

if TYPE_CHECKING:
    import asyncio

    from connhub.plugins.registry import TypeEntry

#: A result can quote a server at length; asyncio's default line limit (64 KiB) would cut it.
LINE_LIMIT = 16 * 1024 * 1024


def worker_command() -> list[str]:
    from connhub.frozen import is_frozen

    if is_frozen():
        return [sys.executable, WORKER_ARGUMENT]
    return [sys.executable, "-m", "connhub.services.probe_worker"]


class ProbeWorker:
    """One child process for one batch of tests: `async with ProbeWorker() as worker: await worker.run(...)`."""

    #: How long past a test's own timeout the parent waits for its answer: the child's start-up and a driver's
    #: first import come before a first test's clock starts. A child stuck past it is not waited for.
    grace = 10.0

    def __init__(self, command: list[str] | None = None):
        self._command = command or worker_command()
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._waiting: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._stopped: str | None = None  # why the child can take no more jobs

    async def __aenter__(self) -> ProbeWorker:
        import asyncio

        self._process = await asyncio.create_subprocess_exec(
            *self._command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=LINE_LIMIT, start_new_session=True)
        self._reader = asyncio.ensure_future(self._read_results())
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        import asyncio

        process = self._process
        if exc_type is None:
            try:
                process.stdin.close()
                await asyncio.wait_for(process.wait(), self.grace)  # every job answered: it exits at once
                await self._reader
                return
            except (TimeoutError, asyncio.CancelledError):
                pass  # stuck, or cancelled while it finished: end it as below
        if process.returncode is None:
            process.kill()  # cancelled or failed: the tests still running end with the child
        self._reader.cancel()
        await asyncio.shield(process.wait())  # reap it, even when cancelled again meanwhile

    async def run(self, entry: TypeEntry, config: dict[str, Any], secrets: dict[str, Any], timeout: float,
                  on_stage: Callable[[str], None] | None = None) -> TestResult:
        """As `run_test`, in the child. `on_stage` is not reported back: a batch shows results, not stages."""
        import asyncio

        if entry.folder is None or not entry.ok:  # fails at once, without a network: no need for the child
            from connhub.services.runner import run_test

            return await run_test(entry, config, secrets, timeout)
        if self._stopped:
            return _worker_failure(self._stopped)
        job_id, self._next_id = self._next_id, self._next_id + 1
        job = {"id": job_id, "folder": str(entry.folder), "source": entry.source, "config": config,
               "secrets": secrets, "timeout": timeout}
        future = asyncio.get_running_loop().create_future()
        self._waiting[job_id] = future
        try:
            self._process.stdin.write(json.dumps(job).encode() + b"\n")
            await self._process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died: the reader ends every waiting job with the reason
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout + self.grace)
        except TimeoutError:
            return _worker_failure(f"the test process gave no answer within {timeout + self.grace:g} s")
        finally:
            self._waiting.pop(job_id, None)

    async def _read_results(self) -> None:
        stdout = self._process.stdout
        while line := await stdout.readline():
            try:
                answer = json.loads(line)
                future = self._waiting.get(answer["id"])
                result = result_from_dict(answer["result"])
            except Exception:  # noqa: BLE001 - not an answer (something printed before the child took stdout over):
                continue  # its job, if any, ends at its deadline
            if future is not None and not future.done():
                future.set_result(result)
        code = await self._process.wait()
        self._stop(f"the test process stopped unexpectedly (exit code {code})")

    def _stop(self, reason: str) -> None:
        self._stopped = reason
        for future in self._waiting.values():
            if not future.done():
                future.set_result(_worker_failure(reason))


def _worker_failure(reason: str) -> TestResult:
    return TestResult(ok=False, message=f"Not tested: {reason}", error_class=ErrorClass.UNKNOWN,
                      hint="Test it again; if this repeats, run `connhub test` on it to see the test's own "
                           "error.")


def result_from_dict(data: dict[str, Any]) -> TestResult:
    """The inverse of `TestResult.to_dict`."""
    data = dict(data)
    data["error_class"] = ErrorClass(data["error_class"]) if data["error_class"] else None
    data["stages"] = [StageResult(**stage) for stage in data["stages"]]
    return TestResult(**data)


# ---- the child -------------------------------------------------------------------------------------------

async def serve(read_line: Callable, write_line: Callable[[bytes], None]) -> None:
    """Run every job read until end of input, concurrently, answering each as it finishes."""
    import asyncio

    from connhub.plugins.registry import load_folder
    from connhub.services.runner import run_test

    entries: dict[tuple[str, str], TypeEntry] = {}  # one per folder: its integration is imported once
    running: set[asyncio.Task] = set()

    async def answer(job: dict[str, Any]) -> None:
        key = (job["folder"], job["source"])
        if key not in entries:
            entries[key] = load_folder(Path(key[0]), key[1], require_folder_name=False)
        result = await run_test(entries[key], job["config"], job["secrets"], job["timeout"])
        write_line(json.dumps({"id": job["id"], "result": result.to_dict()}).encode() + b"\n")

    while line := await read_line():
        task = asyncio.ensure_future(answer(json.loads(line)))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running)


def main() -> int:
    import asyncio

    async def child() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

        answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a driver's stray print must not corrupt the answers

        def write_line(line: bytes) -> None:
            answers.write(line)
            answers.flush()

        await serve(reader.readline, write_line)

    try:
        asyncio.run(child())
    except Exception as exc:  # never echo a job (it holds secrets): the parent reports the exit code
        print(f"connhub test worker: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
