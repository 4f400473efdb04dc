"""JupyterLab in a real browser: a learner searches, codes and checks; the widgets work by
keyboard alone and have accessible names; nbgrader's panels list the course's assignment.

JupyterLab runs on a free loopback port from a copy of ``course/`` (and a throwaway nbgrader
course beside it); Playwright drives Debian's chromium (never ``playwright install``).
Screenshots of each step are kept in ``tests/artefacts/browser/``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from autograder import demo
from medcodelab import paths

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
SHOTS = paths.PROJECT_ROOT / "tests" / "artefacts" / "browser"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    root = tmp_path_factory.mktemp("lab")
    (root / "course").mkdir()
    for notebook in (paths.PROJECT_ROOT / "course").glob("*.ipynb"):
        shutil.copy(notebook, root / "course")
    course = demo.Course(root / "ps-course", timeout=10)  # an instructor's course, released
    course.generate_and_release()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {course.course_id!r}\n"
        f"c.CourseDirectory.root = {str(course.root)!r}\n"
        f"c.Exchange.root = {str(course.root / 'exchange')!r}\n")
    token, port = secrets.token_hex(16), free_port()
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "lab.log", "wb")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if requests.get(f"{url}/api/status", params={"token": token}, timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{lab['url']}/lab/tree/course/01-icd10cm-foundations.ipynb?token={lab['token']}")
        page.wait_for_selector("#main.jp-LabShell")
        page.wait_for_selector(".jp-Notebook")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        accept_kernel_dialog(page)
        yield page
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def accept_kernel_dialog(page) -> None:
    """On a slow machine the kernel may not have started when the notebook opened, and JupyterLab
    then asks which kernel to use, in a modal dialog over everything: take its default (the
    project's Python 3), as a user would."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
        page.wait_for_selector(".jp-Dialog", state="detached", timeout=30_000)


def run_all(page) -> None:
    """Run All Cells, and make sure it took: a click before the kernel is ready does nothing."""
    for _ in range(3):
        accept_kernel_dialog(page)
        page.click('div.lm-MenuBar-itemLabel:text-is("Run")')
        page.click('li.lm-Menu-item:has-text("Run All Cells")')
        try:  # a prompt turns to [*] or a number once cells are running
            page.wait_for_function("[...document.querySelectorAll('.jp-InputPrompt')].some("
                                   "p => /\\[(\\*|\\d+)\\]/.test(p.textContent))", timeout=30_000)
            return
        except Exception:
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    raise AssertionError("Run All Cells did not start the notebook")


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, page):
    """A failing step leaves a picture of the page behind, with the others."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot(page, f"FAILED-{request.node.name}")


def test_1_run_the_foundations_notebook(page):
    run_all(page)
    page.wait_for_function("document.querySelectorAll('.mcl-encounter-coder').length === 9", timeout=240_000)
    shot(page, "1-notebook-ran")


def test_2_search_open_notes_and_code_an_encounter(page):
    coder = page.locator(".mcl-encounter-coder").first  # the sore throat (pc-017)
    coder.scroll_into_view_if_needed()
    coder.locator(".lm-AccordionPanel-title, .jupyter-widget-Collapse-header, .p-Collapse-header").first.click()
    search = coder.locator("input[placeholder^='words or a code']")
    search.fill("strep throat")
    results = coder.locator("select").last
    page.wait_for_function("el => [...el.options].some(o => o.textContent.includes('J02.0'))", arg=results.element_handle())
    notes = coder.locator(".mcl-code")
    notes.wait_for()
    assert "Streptococcal pharyngitis" in notes.inner_text() and "Excludes1" in notes.inner_text()
    shot(page, "2-search-and-notes")
    coder.locator("button:has-text('Use this code')").click()
    page.wait_for_function("el => [...el.options].some(o => o.textContent.includes('J02.0'))",
                           arg=coder.locator("select").first.element_handle())
    coder.locator("button:has-text('Check')").click()
    feedback = coder.locator(".mcl-score")
    feedback.wait_for()
    assert "100%" in feedback.inner_text() and "J02.0 is correct" in feedback.inner_text()
    shot(page, "3-checked")


def test_3_the_coding_pad_works_by_keyboard_alone(page):
    coder = page.locator(".mcl-encounter-coder").nth(1)  # the diabetes follow-up (pc-001)
    coder.scroll_into_view_if_needed()
    entry = coder.locator("input[placeholder^='type a code']")
    entry.focus()  # the one step a keyboard user makes with Tab from the previous cell
    listing = coder.locator("select").first.element_handle()
    for n, code in enumerate(("e1165", "I10", "Z79.84"), start=1):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        # as a person does: the code appears in the list and the box empties before the next one
        page.wait_for_function("([el, n]) => el.options.length === n", arg=[listing, n])
        page.wait_for_function("el => el.value === ''", arg=entry.element_handle())
    for _ in range(30):  # Tab through the pad to the Check button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.textContent.trim() === 'Check'"):
            break
    else:
        pytest.fail("Check could not be reached with Tab")
    page.keyboard.press("Enter")
    feedback = coder.locator(".mcl-score")
    feedback.wait_for()
    assert "100%" in feedback.inner_text()
    shot(page, "4-keyboard-only")


def test_4_every_control_has_an_accessible_name(page):
    missing = page.evaluate("""() => {
        const bad = [];
        for (const el of document.querySelectorAll('.mcl-encounter-coder input, .mcl-encounter-coder select, .mcl-encounter-coder button')) {
            const labelled = el.getAttribute('aria-label') || el.getAttribute('title')
                || (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent.trim())
                || (el.tagName === 'BUTTON' && el.textContent.trim());
            if (!labelled) bad.push(el.outerHTML.slice(0, 120));
        }
        return bad;
    }""")
    assert not missing, missing


def test_5_nbgrader_panels_list_the_assignment(page):
    accept_kernel_dialog(page)
    page.click('div.lm-MenuBar-itemLabel:text-is("Nbgrader")')
    page.click('li.lm-Menu-item:has-text("Assignment List")')
    page.locator("#released_assignments_list").get_by_text("ps01-icd10cm").wait_for()
    shot(page, "5-assignment-list")
    page.click('div.lm-MenuBar-itemLabel:text-is("Nbgrader")')
    page.click('li.lm-Menu-item:has-text("Formgrader")')
    frame = page.frame_locator("iframe").last
    frame.get_by_role("link", name="ps01-icd10cm").wait_for()
    assert page.locator("text=Would you like to get notified about official Jupyter news").count() == 0
    shot(page, "6-formgrader")
