"""Open the template notebook in JupyterLab in a real headless browser.

Starts JupyterLab on 127.0.0.1 (random port, random token), starts Debian's
chromium headless with a DevTools port, drives it over the Chrome DevTools
Protocol (websocket-client, which jupyter_server already needs) and checks
that every cell renders, the ``python3`` kernel starts and goes idle, and no
error dialog or uncaught page exception appears. Skips when chromium is absent
(``make browser`` installs it where root and apt are available).
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

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "_template.ipynb"
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
    env = {**os.environ, **{k: str(v) for k, v in env_dirs.items()}}
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
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
