"""The command line prints exactly the library's dicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import medcodelab


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "medcodelab.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_check_json_is_the_library_dict():
    out = run("check", "e1165", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == medcodelab.check("e1165")


def test_check_exit_status_and_plain_text():
    out = run("check", "S52.521")
    assert out.returncode == 1 and "header" in out.stdout and "7th character" in out.stdout
    assert run("check", "not-a-code").returncode == 1


def test_search_json():
    out = run("search", "strep throat", "--limit", "3", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == medcodelab.search("strep throat", limit=3)


def test_lookup_text_and_json():
    out = run("lookup", "E11.65")
    assert out.returncode == 0 and "Excludes1" in out.stdout and "from E11" in out.stdout
    data = json.loads(run("lookup", "E11.65", "--json").stdout)
    assert data["code"] == "E11.65" and data["parents"][0]["kind"] == "chapter"
    missing = run("lookup", "U99.9")
    assert missing.returncode == 1 and "no category U99" in missing.stderr


def test_missing_database_says_what_to_run(tmp_path):
    out = run("check", "E11.65", env={"MEDCODELAB_DB": str(tmp_path / "nothing.duckdb")})
    assert out.returncode == 2 and "make data" in out.stderr and "Traceback" not in out.stderr


def test_validate_cases():
    out = run("validate-cases")
    assert out.returncode == 0, out.stdout
    assert "0 problem(s)" in out.stdout
