"""notebook.show_figures_inline: figures reach executed notebooks even with MPLBACKEND=Agg."""

from __future__ import annotations

import IPython

from medmod_lib import notebook


class FakeShell:
    def __init__(self, kernel):
        self.kernel = kernel
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def test_inline_backend_switched_on_in_a_kernel(monkeypatch):
    shell = FakeShell(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert notebook.show_figures_inline() is True
    assert shell.magics == [("matplotlib", "inline")]


def test_left_alone_outside_a_kernel(monkeypatch):
    terminal = FakeShell(kernel=None)  # e.g. the IPython terminal
    monkeypatch.setattr(IPython, "get_ipython", lambda: terminal)
    assert notebook.show_figures_inline() is False and terminal.magics == []
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # plain Python
    assert notebook.show_figures_inline() is False
