"""Run one student's notebook in a sandboxed kernel, and never let one cell lose the rest.

Each code cell gets the time limit. A cell that runs past it, ignores the interrupt, kills its
kernel or exhausts its memory is stopped: its output records why, the kernel is replaced with a
fresh one, the instructor's set-up cells run again, and execution goes on with the next cell.
Output beyond the per-cell limit is cut with a note, so a cell printing megabytes costs nothing.
Test cells are not run: the grader writes their outputs itself, from the answers read as data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode, v4

from .sandbox import Sandbox, kill, namespace_inits

START_TIMEOUT = 60  # seconds for a kernel to start


@dataclass
class Run:
    """What happened while a notebook ran, for the report."""

    events: list[str] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0


class CappedClient(NotebookClient):
    """nbclient, keeping at most ``cell_output`` bytes of output per cell."""

    def __init__(self, *args, cell_output: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cell_output = cell_output
        self._used: dict[int, int] = {}
        self._cut: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._used.get(cell_index, 0)
        if used + size > self.cell_output:
            if cell_index not in self._cut:
                self._cut.add(cell_index)
                outs.append(v4.new_output("stream", name="stdout",
                                          text=f"\n[output cut here: this cell printed more than "
                                               f"{self.cell_output // 1024} KB]\n"))
            if msg["msg_type"] == "error":  # keep the error itself, without its traceback
                content = msg["content"]
                outs.append(v4.new_output("error", ename=content.get("ename", "Error"),
                                          evalue=str(content.get("evalue", ""))[:500], traceback=[]))
            return None
        self._used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    def clear_output(self, outs, msg, cell_index):
        self._used[cell_index] = 0
        return super().clear_output(outs, msg, cell_index)


def _stopped(cell: NotebookNode, name: str, why: str) -> None:
    cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
    cell.outputs.append(v4.new_output("error", ename=name, evalue=why, traceback=[f"{name}: {why}"]))


def _is_test(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _is_setup(cell: NotebookNode) -> bool:
    """The instructor's own code (locked, not graded), safe to run again after a restart."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked")) and not meta.get("grade") and not meta.get("solution")


async def run_notebook(nb: NotebookNode, sandbox: Sandbox, slot: int, workdir: Path, warmup: str = "") -> Run:
    """Execute ``nb`` in place in slot ``slot``'s sandbox; returns what happened."""
    limits = sandbox.limits
    run = Run()
    loop = asyncio.get_running_loop()
    started = loop.time()
    km = AsyncKernelManager(kernel_name=sandbox.kernel_name(slot), kernel_spec_manager=sandbox.spec_manager,
                            transport="ipc", ip=str(workdir / "kernel"))
    client = CappedClient(nb, km=km, timeout=limits.cell_timeout, interrupt_on_timeout=False, allow_errors=True,
                          startup_timeout=START_TIMEOUT, record_timing=False, raise_on_iopub_timeout=False,
                          iopub_timeout=2, cell_output=limits.cell_output, kernel_name=sandbox.kernel_name(slot),
                          # killed, not asked to stop: with it goes its whole namespace, and so any
                          # process the student left behind
                          shutdown_kernel="immediate")
    setup_cells: list[NotebookNode] = []
    log = open(sandbox.root / f"slot-{slot}-kernel.log", "ab")  # the kernel's own chatter, kept out of the report
    try:
        start = {"cwd": str(workdir), "stdout": log, "stderr": log}
        async with client.async_setup_kernel(**start), _namespace_killed(client):
            if warmup:
                await _quiet(client, warmup)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or _is_test(cell):
                    continue
                try:
                    await client.async_execute_cell(cell, index, store_history=True)
                except CellTimeoutError:
                    _stopped(cell, "CellStopped", f"stopped after the {limits.cell_timeout:g} s time limit")
                    run.events.append(f"cell {index + 1} ran past the {limits.cell_timeout:g} s limit and was stopped")
                    await _replace_kernel(client, run, setup_cells, warmup, start)
                except DeadKernelError:
                    _stopped(cell, "DeadKernelError", "the kernel died while running this cell "
                                                      "(it exited, was killed, or ran out of memory)")
                    run.events.append(f"cell {index + 1} killed its kernel")
                    await _replace_kernel(client, run, setup_cells, warmup, start)
                else:
                    if _is_setup(cell):
                        setup_cells.append(cell)
    finally:
        log.close()
        run.seconds = loop.time() - started
        if client._cut:
            run.events.append(f"output cut in {len(client._cut)} cell(s) (over {limits.cell_output // 1024} KB each)")
    return run


@contextlib.asynccontextmanager
async def _namespace_killed(client: CappedClient):
    """When the kernel is done, so is everything it started, daemons included."""
    try:
        yield
    finally:
        process = getattr(client.km.provisioner, "process", None)
        if process is not None:
            kill(namespace_inits(process.pid))


async def _quiet(client: CappedClient, code: str) -> None:
    """Run instructor code whose output nobody needs (warm-up, re-running set-up after a restart)."""
    cell = v4.new_code_cell(code)
    await client.async_execute_cell(cell, -1, store_history=False)


async def _replace_kernel(client: CappedClient, run: Run, setup_cells: list[NotebookNode], warmup: str,
                          start: dict) -> None:
    """A fresh kernel, and a fresh client for it, in place of a stuck or dead one; then the
    instructor's set-up runs again. Nothing of the old kernel is reused: its channels may still
    hold a cancelled read."""
    run.restarts += 1
    process = getattr(client.km.provisioner, "process", None)
    inits = namespace_inits(process.pid) if process is not None else []
    client.kc.stop_channels()
    await client.km.shutdown_kernel(now=True, restart=True)  # keeps the manager's context for the new kernel
    kill(inits)
    await client.km.start_kernel(**start)
    client.kc = None
    await client.async_start_new_kernel_client()
    if warmup:
        await _quiet(client, warmup)
    for cell in setup_cells:
        await _quiet(client, cell.source)
