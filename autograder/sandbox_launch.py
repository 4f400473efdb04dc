"""Start one student's Jupyter kernel, confined. The batch grader uses this as the kernel command.

    sandbox_launch.py --workdir DIR --memory BYTES --file-size BYTES
                      [--bwrap PATH (--mount hide:DIR | --mount show:DIR)...]
                      -- PYTHON -P -m ipykernel_launcher -f CONNECTION_FILE ...

Read top to bottom, it is the confinement:
1. copy the grader's connection file into the student's work folder, for the kernel alone;
2. put the kernel in a session (process group) of its own, so the grader can stop all of it;
3. set resource limits: address space, largest file, no core dumps (inherited by everything
   the kernel starts);
4. replace the environment with a short, clean one (home, temp and runtime in the work folder);
5. with bubblewrap: run the kernel in mount, process, IPC and network namespaces of its own,
   with every capability dropped. The whole file system is mounted read-only, /tmp is empty,
   and the ``--mount`` list is applied in the order given (the grader sorts it shallow to
   deep): ``hide:`` replaces a folder with an empty one (the course, the keys, the grader's home),
   ``show:`` puts back, read-only, what the kernel needs from inside a hidden one (the Python
   installation, the project, its database), and a hidden folder inside a shown one stays hidden.
   Only the work folder is writable. The kernel sees no other process and
   cannot signal one, cannot reach the network, and cannot undo any of this;
6. become the kernel (exec), started with ``python -P`` so nothing in the work folder can
   shadow the kernel's own modules.

It imports nothing from the project: it runs before any of it is needed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys

KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "MEDCODELAB_DB")


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("sandbox_launch: expected -- before the kernel command")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="sandbox_launch")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--memory", type=int, required=True, help="address-space limit in bytes")
    parser.add_argument("--file-size", type=int, required=True, help="largest file the kernel may write, bytes")
    parser.add_argument("--path", default="/usr/bin:/bin")
    parser.add_argument("--bwrap", help="bubblewrap, to confine the kernel in namespaces of its own")
    parser.add_argument("--mount", action="append", default=[],
                        help="hide:DIR (replace with an empty folder) or show:DIR (readable again), in order")
    options = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    workdir = options.workdir

    # 1. the connection file, for the kernel alone
    where = command.index("-f") + 1
    private = os.path.join(workdir, ".kernel-connection.json")
    shutil.copyfile(command[where], private)
    os.chmod(private, 0o600)
    command[where] = private

    # 2. a process group of its own
    try:
        os.setsid()
    except OSError:  # already a session leader
        pass

    # 3. limits
    resource.setrlimit(resource.RLIMIT_AS, (options.memory, options.memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (options.file_size, options.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    # 4. a clean environment
    env = {key: os.environ[key] for key in KEEP_ENV if key in os.environ}
    env.update(HOME=workdir, TMPDIR=workdir, PATH=options.path, PYTHONNOUSERSITE="1",
               JUPYTER_RUNTIME_DIR=workdir, IPYTHONDIR=os.path.join(workdir, ".ipython"),
               MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"), NBGRADER_EXECUTION="autograde")
    os.chdir(workdir)

    # 5. namespaces of its own
    if options.bwrap:
        jail = [options.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for mount in options.mount:
            kind, _, folder = mount.partition(":")
            jail += ["--tmpfs", folder] if kind == "hide" else ["--ro-bind", folder, folder]
        jail += ["--bind", workdir, workdir, "--chdir", workdir,
                 "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
        command = jail + command

    # 6. become the kernel
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
