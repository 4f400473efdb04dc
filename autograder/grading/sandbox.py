"""Where and how a student's code runs while it is graded.

Each concurrent job slot has a private work folder holding only the submission's own files,
resource limits, a clean environment and, when bubblewrap is available, namespaces of its own
(see ``autograder/sandbox_launch.py``): the file system read-only, the course, the keys, the
gradebook and the grader's home hidden, no other process visible, no network, no capabilities.
The kernel talks to the grader over Unix sockets in its work folder, which is why it needs no
network at all. Between students, the slot's work folder is emptied.

Without bubblewrap (``apt-get install bubblewrap``), kernels still get their own folder, limits
and clean environment, but run with the grader's permissions; the grading report says so in its
first lines, and ``make test`` installs bubblewrap so the suite exercises the real sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

LAUNCHER = Path(__file__).resolve().parents[1] / "sandbox_launch.py"


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 30.0  # seconds a cell may run
    memory: int = 3 << 30  # address space per kernel (a kernel with the lab loaded maps about 1.55 GB of it)
    file_size: int = 64 << 20  # largest file student code may write
    cell_output: int = 256 << 10  # bytes of output kept per cell; the rest is cut with a note
    notebook_bytes: int = 20 << 20  # a submitted notebook larger than this is not run


def find_bwrap() -> str | None:
    """bubblewrap, if it is installed and can make namespaces here."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent",
                            "--cap-drop", "ALL", "true"], capture_output=True, timeout=30)
    return path if probe.returncode == 0 else None


class Sandbox:
    """Kernel specs and work folders for ``jobs`` concurrent slots."""

    def __init__(self, jobs: int, limits: Limits, hide: list[Path], isolate: bool = True) -> None:
        self.limits = limits
        self.jobs = jobs
        self.bwrap = find_bwrap() if isolate else None
        self.root = Path(tempfile.mkdtemp(prefix="medcodelab-grading-"))
        self.hide = sorted({str(Path(p).resolve()) for p in hide if Path(p).exists()})
        self.specs = self.root / "kernels"
        for slot in range(jobs):
            self._write_spec(slot)
        self.spec_manager = KernelSpecManager(kernel_dirs=[str(self.specs)])

    @property
    def mode(self) -> str:
        return "bubblewrap" if self.bwrap else "none"

    def describe(self) -> str:
        if self.bwrap:
            return ("student code ran in a bubblewrap sandbox: read-only file system, course and keys hidden, "
                    "no network, no other processes visible, no capabilities")
        return ("WARNING: student code ran WITHOUT isolation (bubblewrap is not available): it had the grader's "
                "permissions. Install bubblewrap (apt-get install bubblewrap) and grade again for trustworthy results.")

    def kernel_name(self, slot: int) -> str:
        return f"medcodelab-grading-{slot}"

    def workdir(self, slot: int) -> Path:
        return self.root / f"slot-{slot}"

    def _write_spec(self, slot: int) -> None:
        python = Path(sys.executable)
        argv = [str(python), "-P", str(LAUNCHER), "--workdir", str(self.workdir(slot)),
                "--memory", str(self.limits.memory), "--file-size", str(self.limits.file_size),
                "--path", os.pathsep.join([str(python.parent), "/usr/bin", "/bin"])]
        if self.bwrap:
            argv += ["--bwrap", self.bwrap]
            for kind, folder in self.mounts():
                argv += ["--mount", f"{kind}:{folder}"]
        argv += ["--", str(python), "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=CRITICAL"]
        spec = self.specs / self.kernel_name(slot)
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": f"medcodelab grading slot {slot}", "language": "python",
            "metadata": {"debugger": False}}))

    def mounts(self) -> list[tuple[str, str]]:
        """What the kernel must not see, and what it needs, shallow to deep (the order bwrap applies)."""
        hidden = set(self.hide) | {str(Path.home().resolve())}
        # the kernel needs Python, the environment, the project (an editable install reads it in
        # place) and the code-set database (the file alone: the folder it sits in may hold other
        # things, keys even, when MEDCODELAB_DB points somewhere shared); /tmp is emptied, so what
        # is needed from there is shown again
        from medcodelab import paths

        needed = {sys.base_prefix, sys.prefix, str(paths.PROJECT_ROOT), str(paths.db_path())}
        shown = {str(Path(p).resolve()) for p in needed}
        shown = {p for p in shown if p == "/tmp" or p.startswith("/tmp/")
                 or any(p.startswith(h + os.sep) or p == h for h in hidden)}
        entries = [("hide", h) for h in hidden] + [("show", p) for p in shown]
        # shallow first; at the same depth a show comes before a hide, so hiding wins
        return sorted(entries, key=lambda e: (e[1].count(os.sep), e[0] == "hide", e[1]))

    def fresh_workdir(self, slot: int, files: list[Path]) -> Path:
        """An empty work folder for the slot's next student, holding copies of ``files``."""
        workdir = self.workdir(slot)
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(mode=0o700)
        for path in files:
            if path.is_file() and not path.is_symlink():  # never follow a link out of the submission
                shutil.copyfile(path, workdir / path.name)
        return workdir

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def namespace_inits(pid: int) -> list[int]:
    """The processes started by the kernel command ``pid`` that head a PID namespace of their own.

    Killing one kills every process in its namespace (the Linux rule for a namespace's init),
    which is how a daemon a student started goes with the kernel. Found before the kernel is
    stopped: afterwards they are orphans with no link back to it.
    """
    def ns(p: int) -> str | None:
        try:
            return os.readlink(f"/proc/{p}/ns/pid")
        except OSError:
            return None

    mine = ns(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and ns(int(entry.name)) not in (None, mine):
            found.append(int(entry.name))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
