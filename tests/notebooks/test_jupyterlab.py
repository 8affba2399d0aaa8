"""Open the template notebook in JupyterLab in a real headless browser.

Starts JupyterLab on 127.0.0.1 (random port, random token), starts Debian's
chromium headless with a DevTools port, drives it over the Chrome DevTools
Protocol (websocket-client, which jupyter_server already needs) and checks
that every cell renders, the ``python3`` kernel starts and goes idle, and no
error dialog or uncaught page exception appears. Skips when chromium is absent
(``make browser`` installs it where root and apt are available).

Two more tests run notebooks and drive their widgets the way a reader does: the
smoke copy of ``00_data_tour`` (its stay explorer must show a figure at once and
redraw when another stay or outcome is chosen), and a small generated notebook
with the threshold slider of ``03_linear_eval`` (typing a threshold into the
slider's readout must update the rates, which must equal ``operating_points``).
The lab exposes its application object (``expose_app_in_browser``) so that a test
can run all cells through JupyterLab's own command and read the cell models.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "_template.ipynb"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROBE = """(() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return JSON.stringify({
    cells: panel ? panel.querySelectorAll('.jp-Cell').length : 0,
    text: panel ? panel.innerText.slice(0, 4000) : '',
    dialog: Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText),
    kernel: status ? status.getAttribute('data-status') : null,
  });
})()"""


# The open notebook at ``path``: its non-empty code cells, how many have run, error
# outputs, the kernel status and any dialog.
RUN_STATE = """((path) => {
  const app = window.jupyterapp;
  const panel = app ? Array.from(app.shell.widgets('main')).find(
    w => w.context && w.context.path === path) : null;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) {
    return JSON.stringify({ready: false});
  }
  const cells = panel.content.model.cells;
  let code = 0, done = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code' || !cell.sharedModel.getSource().trim()) continue;
    code++;
    if (cell.executionCount) done++;
    for (const o of cell.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  const session = panel.sessionContext.session;
  return JSON.stringify({
    ready: true, code, done, errors,
    kernel: session && session.kernel ? session.kernel.status : null,
    dialog: Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText),
  });
})"""
# Make the notebook at ``path`` the current one and run all its cells (JupyterLab's command).
RUN_ALL = """((path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(
    w => w.context && w.context.path === path);
  app.shell.activateById(panel.id);
  void app.commands.execute('notebook:run-all-cells');
  return panel.id;
})"""
# What a widget box (found by its CSS class) shows: its image, dropdowns, table, readout.
WIDGET_STATE = """((cls) => {
  const box = document.querySelector('.' + cls);
  if (!box) return JSON.stringify({found: false});
  box.scrollIntoView({block: 'center'});
  const img = box.querySelector('.widget-output img');
  const src = img ? img.getAttribute('src') || '' : '';
  let hash = 0;
  for (let i = 0; i < src.length; i++) hash = (hash * 31 + src.charCodeAt(i)) | 0;
  const table = box.querySelector('.widget-output table');
  const readout = box.querySelector('.widget-readout');
  return JSON.stringify({
    found: true,
    png: src.startsWith('data:image/png'),
    src: src.length + ':' + hash,
    selects: Array.from(box.querySelectorAll('select')).map(s => ({
      index: s.selectedIndex,
      options: Array.from(s.options).map(o => o.textContent.replace(/\u00a0/g, ' ')),
    })),
    rows: table ? Array.from(table.querySelectorAll('tr')).map(
      r => Array.from(r.children).map(c => c.textContent.trim())) : [],
    readout: readout ? readout.textContent : null,
  });
})"""
# Choose option ``index`` of the ``which``-th dropdown as a user does (a 'change' event).
CHOOSE = """((cls, which, index) => {
  const select = document.querySelector('.' + cls).querySelectorAll('select')[which];
  select.selectedIndex = index;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  return select.value;
})"""
# Focus a slider's editable readout and select its text, ready for typing.
FOCUS_READOUT = """((cls) => {
  const readout = document.querySelector('.' + cls + ' .widget-readout');
  readout.focus();
  const range = document.createRange();
  range.selectNodeContents(readout);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return readout.textContent;
})"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ValueError) as err:
            last = err
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page websocket."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"CDP {method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def call_js(self, function: str, *args):
        """Call a JavaScript function expression with JSON arguments; its JSON result, parsed."""
        value = self.evaluate(f"({function})({', '.join(json.dumps(a) for a in args)})")
        return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value

    def type_and_enter(self, text: str) -> None:
        """Type ``text`` where the focus is, then press Enter (real key events)."""
        self.call("Input.insertText", text=text)
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, nativeVirtualKeyCode=13)  # fmt: skip

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a folder with the template; yields (base_url, token)."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    env_dirs = {
        "JUPYTER_CONFIG_DIR": tmp_path / "config",
        "JUPYTER_RUNTIME_DIR": tmp_path / "runtime",
        "JUPYTERLAB_WORKSPACES_DIR": tmp_path / "workspaces",
        "JUPYTERLAB_SETTINGS_DIR": tmp_path / "settings",
    }
    env = {**os.environ, **{k: str(v) for k, v in env_dirs.items()}, "TQDM_DISABLE": "1"}
    env.pop("MPLBACKEND", None)  # kernels draw inline, as for a reader
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:  # containers and CI runners
        cmd.append("--allow-root")
    log_path = tmp_path / "lab.log"
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait(lambda: _get_json(f"{base}/api/status?token={token}"), 90, "JupyterLab", proc)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{log_path.read_text()[-3000:]}") from None
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser(tmp_path):
    """Headless chromium with a DevTools port; yields the port."""
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("chromium not installed (`make browser`, or apt-get install chromium)")
    profile = tmp_path / "chromium-profile"
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--remote-allow-origins=*", "--window-size=1280,2400", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        _wait(lambda: port_file.exists() and port_file.read_text().strip(), 60, "chromium", proc)
        yield int(port_file.read_text().split()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_template_renders_in_jupyterlab(lab, browser):
    base, token = lab
    pages = _wait(
        lambda: [t for t in _get_json(f"http://127.0.0.1:{browser}/json") if t["type"] == "page"],
        30,
        "a chromium page",
    )
    cdp = DevTools(pages[0]["webSocketDebuggerUrl"])
    try:
        cdp.call("Runtime.enable")
        cdp.call("Page.enable")
        cdp.call("Page.navigate", url=f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
        n_cells = len(json.loads(NOTEBOOK.read_text())["cells"])

        def rendered():
            state = json.loads(cdp.evaluate(PROBE) or "{}")
            done = state.get("cells") == n_cells and state.get("kernel") == "idle"
            return state if done or state.get("dialog") else None

        state = _wait(rendered, 120, f"{n_cells} rendered cells and an idle kernel")
        exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    finally:
        cdp.close()
    assert state["dialog"] == [], f"JupyterLab showed a dialog: {state['dialog']}"
    assert "NN Title: what this notebook shows" in state["text"]
    assert "## Takeaways" not in state["text"] and "Takeaways" in state["text"]  # rendered markdown
    assert exceptions == [], f"uncaught exceptions in the page: {exceptions[:3]}"
    # The page's indicator can read idle a moment before the server lists the
    # session, so the server side is awaited, not read once.
    sessions = _wait(lambda: _get_json(f"{base}/api/sessions?token={token}"), 60, "a session")
    assert [(s["path"], s["kernel"]["name"]) for s in sessions] == [(NOTEBOOK.name, "python3")]


def _open_page(browser_port: int) -> DevTools:
    pages = _wait(
        lambda: [
            t for t in _get_json(f"http://127.0.0.1:{browser_port}/json") if t["type"] == "page"
        ],
        30,
        "a chromium page",
    )
    cdp = DevTools(pages[0]["webSocketDebuggerUrl"])
    cdp.call("Runtime.enable")
    cdp.call("Page.enable")
    # A headless page never has the window focus, and JupyterLab's current notebook
    # (which its commands act on) follows the focus.
    cdp.call("Emulation.setFocusEmulationEnabled", enabled=True)
    return cdp


def _run_all(cdp: DevTools, base: str, token: str, name: str, timeout: float) -> dict:
    """Open notebook ``name``, run all its cells with JupyterLab's command, wait for the end."""
    cdp.call("Page.navigate", url=f"{base}/lab/tree/{name}?token={token}")

    seen: list[dict] = [{}]

    def run_state() -> dict:
        seen[0] = cdp.call_js(RUN_STATE, name) or {}
        return seen[0]

    def kernel_ready():
        state = run_state()
        return state if state.get("kernel") == "idle" or state.get("dialog") else None

    try:
        state = _wait(kernel_ready, 120, f"{name} open with an idle kernel")
        assert not state["dialog"], f"JupyterLab showed a dialog: {state['dialog']}"
        cdp.call_js(RUN_ALL, name)

        def finished():
            state = run_state()
            if state.get("errors") or state.get("dialog"):
                return state
            done = state.get("code") and state["done"] == state["code"]
            return state if done and state.get("kernel") == "idle" else None

        state = _wait(finished, timeout, f"every cell of {name} to run")
    except AssertionError as err:
        raise AssertionError(f"{err}\nlast notebook state: {seen[0]}") from None
    assert not state["errors"], f"{name} raised: {state['errors']}"
    assert not state["dialog"], f"JupyterLab showed a dialog: {state['dialog']}"
    return state


def _widget(cdp: DevTools, cls: str, timeout: float = 30, until=None) -> dict:
    """The state of the widget box with CSS class ``cls`` once it shows a PNG (and ``until``)."""

    def ready():
        state = cdp.call_js(WIDGET_STATE, cls)
        return state if state.get("png") and (until is None or until(state)) else None

    return _wait(ready, timeout, f"the widget .{cls}")


@pytest.mark.slow
def test_stay_explorer_draws_and_reacts_in_jupyterlab(lab, browser, synthetic_root, tmp_path):
    from medmod_lib.runner import nbtest

    base, token = lab
    copy = nbtest.smoke_copy(
        NOTEBOOKS / "00_data_tour.ipynb",
        tmp_path / "lab",
        data_root=synthetic_root,
        output_dir=tmp_path / "outputs" / "runs" / "browser",
        expected=None,
    )
    cdp = _open_page(browser)
    try:
        _run_all(cdp, base, token, copy.name, timeout=300)
        cls = "medmod-stay-explorer"
        first = _widget(cdp, cls)  # drawn on open, before any choice
        outcome, stay = first["selects"]
        assert outcome["options"] == ["all", "died in hospital", "survived"]
        assert len(stay["options"]) >= 2 and outcome["index"] == 0
        other = (stay["index"] + 1) % len(stay["options"])
        cdp.call_js(CHOOSE, cls, 1, other)
        moved = _widget(cdp, cls, 60, until=lambda s: s["src"] != first["src"])
        assert moved["selects"][1]["index"] == other

        cdp.call_js(CHOOSE, cls, 0, 1)  # died in hospital
        died = _widget(cdp, cls, 60, until=lambda s: s["selects"][1]["options"] != stay["options"])
        assert died["selects"][1]["options"], "no stay that died has a film"
        assert all(o.endswith("· died") for o in died["selects"][1]["options"])
        exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    finally:
        cdp.close()
    assert exceptions == [], f"uncaught exceptions in the page: {exceptions[:3]}"


# The generated notebook's scores; the test recomputes the expected rates from the same code.
SCORES = """import numpy as np

rng = np.random.default_rng(0)
y = rng.integers(0, 2, 400)
scores = {
    "good": (y, np.clip(0.35 * y + rng.uniform(0, 0.65, 400), 0, 1)),
    "weak": (y, rng.uniform(0, 1, 400)),
}
"""
SHOW_SLIDER = """from IPython.display import display
from medmod_lib import viz

display(viz.threshold_explorer(scores, default=0.5))
"""


def _rates(state: dict) -> dict:
    """model -> {column: value} from the table the widget shows."""
    header, *rows = state["rows"]
    return {r[0]: dict(zip(header[1:], map(float, r[1:]), strict=True)) for r in rows}


@pytest.mark.slow
def test_threshold_slider_updates_the_rates_in_jupyterlab(lab, browser, tmp_path):
    import nbformat

    from medmod_lib import viz

    base, token = lab
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (medmod)",
                "language": "python",
            }
        },
        cells=[nbformat.v4.new_code_cell(c) for c in (SCORES, SHOW_SLIDER)],
    )
    name = "threshold_slider.ipynb"
    nbformat.write(nb, tmp_path / "lab" / name)
    namespace: dict = {}
    exec(SCORES, namespace)  # the notebook's own scores
    scores = namespace["scores"]
    cdp = _open_page(browser)
    try:
        _run_all(cdp, base, token, name, timeout=120)
        cls = "medmod-threshold"
        first = _widget(cdp, cls)
        assert first["readout"] == "0.50"
        cdp.call_js(FOCUS_READOUT, cls)
        cdp.type_and_enter("0.8")
        moved = _widget(cdp, cls, 60, until=lambda s: s["rows"] != first["rows"])
        exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    finally:
        cdp.close()
    assert exceptions == [], f"uncaught exceptions in the page: {exceptions[:3]}"
    assert moved["readout"] == "0.80" and moved["src"] != first["src"]
    for state, t in ((first, 0.5), (moved, 0.8)):
        shown = _rates(state)
        expected = viz.threshold_table(scores, t).set_index("model")
        assert set(shown) == set(expected.index)
        for model, row in shown.items():
            assert row["threshold"] == pytest.approx(t)
            for col in ("alerts_per_100", "sensitivity", "specificity", "ppv"):
                assert row[col] == pytest.approx(expected.loc[model, col], abs=6e-4), (model, col)
