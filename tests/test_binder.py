"""What Binder would do, done with pip (conda is not on this machine).

Binder (repo2docker) reads ``environment.yml``, creates the environment, installs its pip
section from the repository root, then runs ``postBuild``. Here: a fresh virtual environment on
the Python version the file asks for, the same pip section, then ``postBuild``; the result must
open the lab's data and serve the course the way ``make lab`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from medcodelab import paths

pytestmark = pytest.mark.slow
ROOT = paths.PROJECT_ROOT


def test_environment_yml_matches_the_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    assert python.split("=")[1] == f"{sys.version_info.major}.{sys.version_info.minor}"
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-e .[test]" in pip_section  # the same install as make lab
    assert os.access(ROOT / "postBuild", os.X_OK)


def test_binder_build_with_pip(tmp_path):
    env_spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env_spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    venv = tmp_path / "binder-env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *[a for p in pip_section for a in p.split()]],
                             cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    db = tmp_path / "binder.duckdb"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "MEDCODELAB_DB": str(db),
           "VIRTUAL_ENV": str(venv)}
    build = subprocess.run(["bash", str(ROOT / "postBuild")], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    assert db.exists()
    settings = json.loads((venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    check = subprocess.run([str(venv / "bin" / "medcodelab"), "check", "e1165", "--json"], env=env,
                           capture_output=True, text=True)
    assert json.loads(check.stdout)["status"] == "billable"
    labs = subprocess.run([str(venv / "bin" / "jupyter"), "labextension", "list"], env=env, capture_output=True,
                          text=True)
    listing = labs.stdout + labs.stderr
    assert "jupyterlab_widgets" in listing or "jupyter-widgets" in listing
    assert "nbgrader" in listing
    shutil.rmtree(venv)
