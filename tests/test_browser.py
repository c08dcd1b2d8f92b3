"""The student's path in a real browser: JupyterLab in headless Chromium, driven by Selenium.

JupyterLab starts as the README tells students to start it: its "For students" commands run in a
fresh virtualenv (``cd student``, ``python -m pip install -r requirements.txt``, ``jupyter lab
lab05_nn_compute.ipynb``), so JupyterLab, the kernel and every package the notebook imports are
what student/requirements.txt installs, not the project's. The virtualenv is kept in
build/student-env and made again when student/requirements.txt changes (the first run installs it
from PyPI: about 80 s and 730 MB). The server listens on 127.0.0.1 only, with a random token, in a
scratch copy of student/. The tests open the student's notebook as the command opens it, run a
notebook with the real menu item (Kernel > Restart Kernel and Run All Cells…), move a widget, save
with the keyboard, run the export cell and grade the zip it writes through the committed bundle;
they also check that the export refuses unsaved changes, that unfinished work exports and grades to
its partial score, and that a display whose function is a stub shows its message and no figure.

Needs Chromium and chromedriver from the system's packages (Debian/Ubuntu: ``apt-get install
chromium chromium-driver``; ``.ci/run`` installs them when it runs as root). Where neither can be
found the tests are skipped, saying so. ``make test-browser`` runs only these tests.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import nbformat
import pytest
from conftest import grade, possible_points
from lab05_autograder.hidden import ANSWERS
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from lab05.assertions import LETTERS
from tools.layout import NOTEBOOK, ROOT, STUDENT, cell_source
from tools.qa import notebooks

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RUN_ALL = "Restart Kernel and Run All Cells…"
#: Seconds to wait for a whole notebook to run in the browser, and for anything else.
RUN_ALL_TIMEOUT_S = 150
WAIT_S = 30
#: JupyterLab settings for a predictable page: every cell in the DOM, no autosave (the tests
#: decide when the notebook is saved), no news prompt.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
#: The fresh virtualenv the README's student commands install into, and the file recording which
#: student/requirements.txt it holds.
STUDENT_ENV = ROOT / "build" / "student-env"
INSTALLED = "installed-requirements.txt"
INSTALL_TIMEOUT_S = 900


def readme_student_commands() -> list[str]:
    """The commands of the README's "For students" section, comments dropped, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For students", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README's For students section has no ```bash block of commands"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [c for c in commands if c]


def student_environment(commands: list[str], folder: pathlib.Path) -> dict:
    """The environment variables of a fresh virtualenv (``STUDENT_ENV``) in which the README's install
    command ran in ``folder`` (a copy of student/): made once per student/requirements.txt."""
    requirements = (folder / "requirements.txt").read_text(encoding="utf-8")
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(STUDENT_ENV),
        "PATH": f"{STUDENT_ENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("PYTHONPATH", None)
    marker = STUDENT_ENV / INSTALLED
    if marker.is_file() and marker.read_text(encoding="utf-8") == requirements:
        return env
    shutil.rmtree(STUDENT_ENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(STUDENT_ENV)], check=True, timeout=120)
    install = commands[1]
    done = subprocess.run(
        install, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    assert done.returncode == 0, (
        f"the README's `{install}` failed in a fresh virtualenv (exit {done.returncode}; it needs PyPI):\n"
        + (done.stdout + done.stderr)[-3000:]
    )
    marker.write_text(requirements, encoding="utf-8")
    return env


def _browser() -> tuple[str, str]:
    """Paths of Chromium and chromedriver, or a skip naming what is missing and how to get it."""
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        missing = [what for what, path in (("Chromium", browser), ("chromedriver", driver)) if not path]
        pytest.skip(
            f"no {' or '.join(missing)} on this machine, so no real browser can run: install them "
            "(Debian/Ubuntu: apt-get install chromium chromium-driver; .ci/run does it as root)"
        )
    return browser, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, log: pathlib.Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling a server that is starting: there is nothing to wait on
    raise AssertionError(f"JupyterLab did not answer {url} within {timeout} s:\n{log.read_text()[-3000:]}")


class Lab:
    """A JupyterLab page in Chromium, with the few actions a student takes."""

    def __init__(self, driver: webdriver.Chrome, base: str, token: str, root: pathlib.Path):
        self.driver, self.base, self.token, self.root = driver, base, token, root

    def wait(self, condition, timeout: float = WAIT_S, message: str = ""):
        return WebDriverWait(
            self.driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition, message)

    # -- documents -----------------------------------------------------------------------------
    def open(self, folder: str) -> None:
        """Open ``folder``/lab05_nn_compute.ipynb ("": the one the server started on) and wait until
        its kernel is idle."""
        path = f"{folder}/{NOTEBOOK}" if folder else NOTEBOOK
        self.driver.get(f"{self.base}/lab/tree/{path}?token={self.token}&reset")
        self.wait(lambda d: len(self.code_cells()) > 10, message="the notebook's cells did not appear")
        self.wait_idle()

    def wait_idle(self, timeout: float = WAIT_S) -> None:
        self.wait(
            lambda d: d.execute_script(
                "const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
                "return s && s.getAttribute('data-status') === 'idle';"
            ),
            timeout,
            "the kernel did not become idle",
        )

    def code_cells(self) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")

    def cell(self, contains: str):
        """The first code cell whose code contains ``contains``."""

        def find(_driver):
            for cell in self.code_cells():
                code = cell.find_element(By.CSS_SELECTOR, ".cm-content").get_attribute("textContent")
                if contains in code:
                    return cell
            return False

        return self.wait(find, message=f"no code cell contains {contains!r}")

    def output(self, contains: str) -> str:
        return self.cell(contains).find_element(By.CSS_SELECTOR, ".jp-Cell-outputWrapper").text

    def wait_output(self, contains: str, text: str, timeout: float = WAIT_S) -> str:
        """Wait until the output of the cell containing ``contains`` shows ``text``; return the output.
        When it does not, the failure says where the notebook stood (:meth:`progress`)."""
        try:
            self.wait(lambda d: text in self.output(contains), timeout)
        except TimeoutException:
            try:
                where = self.progress()
            except WebDriverException as exc:
                where = f"where the notebook stood is unknown ({type(exc).__name__})"
            pytest.fail(f"the cell with {contains!r} never showed {text!r} within {timeout:g} s; {where}")
        return self.output(contains)

    def progress(self) -> str:
        """Where a run of the notebook stands: the kernel's status, the prompts of the cells still queued
        or running, and the first error shown."""
        status = self.driver.execute_script(
            "const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
            "return s ? s.getAttribute('data-status') : 'no indicator';"
        )
        prompts = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")]
        waiting = [i for i, prompt in enumerate(prompts) if "*" in prompt]
        errors = self.driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output[data-mime-type*='error']")
        first_error = errors[0].text[-600:] if errors else "none"
        return (
            f"kernel {status}; {len(prompts)} code cells, queued or running: {waiting or 'none'} "
            f"(last prompts {prompts[-3:]}); first error shown: {first_error}"
        )

    # -- actions -------------------------------------------------------------------------------
    def menu(self, top: str, item: str) -> None:
        """Click ``top`` in the menu bar, then the menu item labelled exactly ``item``."""
        bar = self.wait(
            lambda d: next(
                (e for e in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if e.text == top), False
            ),
            message=f"no {top!r} menu",
        )
        bar.click()
        entry = self.wait(
            lambda d: next(
                (
                    e
                    for e in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel")
                    if e.text == item and e.is_displayed()
                ),
                False,
            ),
            message=f"no {item!r} in the {top} menu",
        )
        entry.click()

    def run_all(self) -> None:
        self.menu("Kernel", RUN_ALL)
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept")).click()
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".jp-Dialog"), message="the dialog stayed open")

    def run_cell(self, contains: str) -> None:
        """Click into the cell and press Shift+Enter, as a student runs one cell."""
        self.cell(contains).find_element(By.CSS_SELECTOR, ".cm-content").click()
        webdriver.ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

    def replace_code(self, contains: str, code: str) -> None:
        """Replace the code of the cell containing ``contains`` with one line typed by hand."""
        editor = self.cell(contains).find_element(By.CSS_SELECTOR, ".cm-content")
        editor.click()
        webdriver.ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        editor.send_keys(Keys.DELETE)
        editor.send_keys(code)
        self.wait(
            lambda d: self.cell(code).get_attribute("class") is not None,
            message=f"the typed code {code!r} did not appear",
        )

    def save(self) -> None:
        """Ctrl+S, then wait until the tab is no longer marked unsaved."""
        webdriver.ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
        self.wait(
            lambda d: not d.find_elements(By.CSS_SELECTOR, ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"),
            message="the notebook was not saved",
        )

    def zips(self, folder: str) -> list[pathlib.Path]:
        return sorted((self.root / folder).glob("lab05_nn_compute_*.zip"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    browser, chromedriver = _browser()
    commands = readme_student_commands()
    assert len(commands) == 3 and commands[0] == "cd student", f"the README's student commands changed: {commands}"
    assert commands[2].split()[:2] == ["jupyter", "lab"], f"the README no longer starts JupyterLab: {commands}"
    root = tmp_path_factory.mktemp("browser") / "student"  # `cd student`: a scratch copy of it
    root.mkdir()
    notebooks.copy_student_files(root, notebook=True)
    env = student_environment(commands, root)
    settings = root / ".settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    log = root / ".jupyterlab.log"
    env.update(
        JUPYTER_CONFIG_DIR=str(root / ".config"),
        JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    with open(log, "w") as out:
        server = subprocess.Popen(
            shlex.split(commands[2])  # the README's command, then what keeps a test server private
            + [
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={root / '.workspaces'}",
                "--ServerApp.open_browser=False",
                "--allow-root",
            ],  # CI runs as root
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", server, log)
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
            "--disable-gpu",
            f"--user-data-dir={root / '.chromium'}",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
        yield Lab(driver, base, token, root)
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _folder(lab: Lab, name: str, nb: nbformat.NotebookNode) -> str:
    """A folder in the server's root holding the student files and ``nb`` as the notebook."""
    folder = lab.root / name
    folder.mkdir()
    notebooks.copy_student_files(folder)
    nbformat.write(nb, str(folder / NOTEBOOK))
    return name


def _saved_code(path: pathlib.Path, contains: str) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = cell_source(cell)
        if cell["cell_type"] == "code" and contains in source:
            return source
    raise AssertionError(f"no saved code cell contains {contains!r}")


def test_the_readmes_commands_open_the_students_notebook_on_a_kernel_of_their_environment(lab):
    """``jupyter lab lab05_nn_compute.ipynb`` in the fresh environment: the blank notebook opens, and
    its first cells (Otter, the lab's imports) run on that environment's kernel without an error."""
    log = (lab.root / ".jupyterlab.log").read_text()
    assert re.search(rf"{re.escape(str(STUDENT_ENV))}/lib/python[\d.]+/site-packages/jupyterlab", log), (
        f"JupyterLab did not start from {STUDENT_ENV}:\n{log[-2000:]}"
    )
    lab.open("")
    for contains in ("otter.Notebook(", "limit_cell_time_while_grading"):
        lab.run_cell(contains)
        lab.wait_idle()
        text = lab.output(contains)
        assert "Error" not in text and "Traceback" not in text, f"the cell with {contains!r} failed: {text!r}"
    kernels = json.loads(urllib.request.urlopen(f"{lab.base}/api/kernels?token={lab.token}", timeout=10).read())
    assert kernels, "no kernel runs for the student's notebook"


def test_solved_notebook_runs_saves_exports_and_grades_full_marks_in_a_browser(lab):
    folder = _folder(lab, "solved", notebooks.solution())
    lab.open(folder)
    lab.run_all()
    export = lab.wait_output("export_submission(", "Wrote lab05_nn_compute_", RUN_ALL_TIMEOUT_S)
    assert "PosixPath" not in export, f"the export cell echoes its return value: {export!r}"
    setup = lab.output("limit_cell_time_while_grading")
    assert setup == "", f"the setup cell should show nothing, got {setup!r}"

    # Move the batch-size slider one step: the readout and the figure follow.
    sliders = lab.cell("explore_memory_ledger(")
    readout = lab.wait(
        lambda d: sliders.find_element(By.CSS_SELECTOR, ".widget-readout"), message="the sliders did not render"
    )
    before = readout.text
    figure = sliders.find_element(By.CSS_SELECTOR, ".widget-output img").get_attribute("src")
    handle = sliders.find_element(By.CSS_SELECTOR, ".noUi-handle")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    lab.wait(lambda d: readout.text != before, message=f"the slider did not move from {before}")
    lab.wait(
        lambda d: sliders.find_element(By.CSS_SELECTOR, ".widget-output img").get_attribute("src") != figure,
        message="the figure did not redraw for the new batch size",
    )
    assert "model not found" in sliders.text and "run this cell again" in sliders.text, sliders.text

    # Save, export, and grade the zip the browser's kernel wrote.
    lab.save()
    before_zips = set(lab.zips(folder))
    lab.run_cell("export_submission(")
    lab.wait(lambda d: set(lab.zips(folder)) - before_zips, RUN_ALL_TIMEOUT_S, "the export wrote no new zip")
    (exported,) = set(lab.zips(folder)) - before_zips
    lab.wait_idle()
    assert "Wrote" in lab.output("export_submission(") and "unfinished" not in lab.output("export_submission(")
    _, scores = grade(exported)
    possible = possible_points()
    assert scores == possible, f"the browser-exported zip scored {scores}, expected {possible}"

    # Item 1: change an answer and run it without saving: the export refuses and says what to do.
    best = ANSWERS["act2_reflection"]
    other = next(letter for letter in LETTERS if letter != best)
    edited = f'act2_reflection = "{other}"'
    lab.replace_code(f'act2_reflection = "{best}"', edited)
    lab.run_cell(edited)
    lab.wait_idle()
    zips = set(lab.zips(folder))
    lab.run_cell("export_submission(")
    refused = lab.wait_output("export_submission(", "No zip was written")
    assert "File > Save" in refused and "run this cell again" in refused and edited in refused, refused
    assert set(lab.zips(folder)) == zips, "a zip was written from an unsaved notebook"
    # Saved, the same export goes through and packs the new answer.
    lab.save()
    lab.run_cell("export_submission(")
    lab.wait(lambda d: set(lab.zips(folder)) - zips, WAIT_S, "the export wrote no zip after saving")
    (latest,) = set(lab.zips(folder)) - zips
    with zipfile.ZipFile(latest) as zf:
        packed = zf.read(NOTEBOOK).decode()
    assert edited.replace('"', '\\"') in packed, "the zip does not hold the answer saved last"


def test_unfinished_notebook_exports_its_partial_work_and_hides_half_drawn_figures(lab):
    student = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    stub = notebooks.function_source(student, "max_trainable_width")
    folder = _folder(lab, "unfinished", notebooks.replace_function(notebooks.solution(), "max_trainable_width", stub))
    lab.open(folder)
    lab.run_all()
    export = lab.wait_output("export_submission(", "Wrote lab05_nn_compute_", RUN_ALL_TIMEOUT_S)
    assert "unfinished" in export and "max_trainable_width" in export, export

    # Item 3: the width challenge calls the stub after opening its figure: only the message shows.
    width = lab.cell("width_challenge_figure(")
    text = width.find_element(By.CSS_SELECTOR, ".jp-Cell-outputWrapper").text
    images = width.find_elements(By.CSS_SELECTOR, ".jp-OutputArea img")
    assert "not implemented yet" in text and not images, (
        f"expected the message alone, got {text!r}, {len(images)} images"
    )
    assert "Widest" not in text, f"the display's partial printout shows: {text!r}"

    # Item 2: the ledger records null for the width, and the zip grades to its partial score.
    (exported,) = lab.zips(folder)
    with zipfile.ZipFile(exported) as zf:
        ledger = json.loads(zf.read("design_ledger.json"))
    assert ledger["max_trainable_width_laptop_gpu"] is None, ledger
    _, scores = grade(exported)
    possible = possible_points()
    expected = {q: (0 if q == "max_trainable_width" else possible[q]) for q in possible}
    assert scores == expected, f"expected {expected}, got {scores}"
