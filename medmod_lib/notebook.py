"""Helpers for every notebook's setup cell.

Example (the setup cell of ``notebooks/_template.py``)::

    from medmod_lib import notebook

    ctx = notebook.setup(
        name="02_pretraining", seed=seed, device=device,
        data_root=data_root, output_dir=output_dir, smoke=smoke,
    )

``setup`` seeds every generator, picks the device, caps pandas/numpy display,
silences warnings known to be harmless, prints library versions and returns a
:class:`NotebookContext` with resolved paths.
"""

from __future__ import annotations

import platform
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import paths

#: Versions printed by :func:`print_versions`.
VERSIONED = ("medmod-kit", "torch", "torchvision", "numpy", "pandas", "scikit-learn", "duckdb")
#: Default output folder of notebooks opened by hand (shared, so 03 finds 02's checkpoints).
INTERACTIVE_RUN = "interactive"


def versions() -> dict[str, str]:
    """Python and the installed versions of the kit's main libraries."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def print_versions() -> None:
    """Print :func:`versions` on one line."""
    print(" | ".join(f"{k} {v}" for k, v in versions().items()))


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's global generator and torch (see :mod:`medmod_lib.devices`).

    ``PYTHONHASHSEED`` cannot change inside a running kernel: the runner and
    ``make`` export ``PYTHONHASHSEED=0`` before the kernel starts.
    """
    from .devices import seed_everything as _seed

    _seed(seed)


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> CUDA, else MPS, else CPU (:func:`medmod_lib.devices.resolve_device`).

    Returns:
        The device as a string (``"cpu"``, ``"cuda:0"``, ``"mps"``): a parameter-friendly value.

    Raises:
        ValueError: An explicit device that this machine does not have.
    """
    from .devices import resolve_device as _resolve

    return str(_resolve(device))


def cap_display(max_rows: int = 30, max_columns: int = 20) -> None:
    """Keep printed tables short: pandas and NumPy display limits."""
    import numpy as np
    import pandas as pd

    pd.set_option("display.max_rows", max_rows)
    pd.set_option("display.min_rows", min(10, max_rows))
    pd.set_option("display.max_columns", max_columns)
    pd.set_option("display.width", 120)
    np.set_printoptions(threshold=200, edgeitems=3, linewidth=120)


def silence_known_warnings() -> None:
    """Hide warnings that are harmless here and would clutter every report."""
    # seaborn 0.13 passes `vert` to matplotlib >= 3.10 boxplot, which warns that it is
    # deprecated (matplotlib 3.10 release notes: boxplot `vert` -> `orientation`).
    warnings.filterwarnings("ignore", message=r".*vert.*", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", message=r".*vert.*", category=DeprecationWarning)
    # DataLoader on a 2-core machine: the worker-count hint is expected.
    warnings.filterwarnings("ignore", message=r".*This DataLoader will create.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"jupyter_client.*")


def show_figures_inline() -> bool:
    """Inside a Jupyter kernel, render matplotlib figures as cell outputs.

    The runner and the tests export ``MPLBACKEND=Agg`` (headless), which a
    kernel honours: figures would then never reach the executed notebook or
    its HTML report. The inline backend is headless too, so it is switched on
    whenever a kernel runs the notebook; plain Python is left alone.

    Returns:
        True if the inline backend was switched on.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    shell.run_line_magic("matplotlib", "inline")
    return True


@dataclass(frozen=True)
class NotebookContext:
    """What a notebook's later cells need, resolved once.

    Attributes:
        name: The notebook's stem, e.g. ``02_pretraining``.
        seed: The seed every generator got.
        device: Resolved device string (``cpu``, ``cuda``, ``mps``).
        data_root: The raw-data root (read only).
        output_dir: Shared artifact folder of the run (checkpoints, results/).
        smoke: Whether to use tiny settings.
    """

    name: str
    seed: int
    device: str
    data_root: Path
    output_dir: Path
    smoke: bool

    def save_results(self, frame: Any, tag: str = "") -> Path:
        """Write this notebook's tidy results (see :mod:`medmod_lib.runner.results`).

        Args:
            frame: DataFrame with at least the columns of ``REQUIRED_COLUMNS``, in order
                (then any of the provenance columns of ``RESULT_COLUMNS``).
            tag: Distinguishes copies, e.g. ``"simclr"``; the seed is added.

        Returns:
            ``<output_dir>/results/<name>[_<tag>]_s<seed>.csv``.
        """
        from .runner.results import save_results

        return save_results(frame, self.output_dir, self._stem(tag))

    def save_claims(self, frame: Any, tag: str = "") -> Path:
        """Write this notebook's claim verdicts (see :mod:`medmod_lib.evaluation.claims`).

        Args:
            frame: DataFrame with the columns of ``CLAIM_COLUMNS``.
            tag: Distinguishes copies; the seed is added.

        Returns:
            ``<output_dir>/claims/<name>[_<tag>]_s<seed>.csv``.
        """
        from .runner.results import save_claims

        return save_claims(frame, self.output_dir, self._stem(tag))

    def _stem(self, tag: str) -> str:
        return "_".join(p for p in (self.name, tag, f"s{self.seed}") if p)


def setup(
    *,
    name: str,
    seed: int = 0,
    device: str = "auto",
    data_root: str | Path | None = None,
    output_dir: str | Path | None = None,
    smoke: bool = False,
    threads: int | None = None,
    verbose: bool = True,
) -> NotebookContext:
    """The setup cell: seeds, device, display caps, warnings, versions, paths.

    Args:
        name: The notebook's stem.
        seed: Seed for ``random``, NumPy and torch.
        device: ``auto`` or an explicit device.
        data_root: None -> :func:`medmod_lib.paths.data_root`.
        output_dir: None -> ``<output root>/runs/interactive``.
        smoke: Passed through to the context.
        threads: torch CPU threads; None -> ``$OMP_NUM_THREADS`` or the CPUs available.
        verbose: Print versions and the resolved settings.

    Returns:
        The :class:`NotebookContext`.
    """
    seed_everything(seed)
    cap_display()
    silence_known_warnings()
    show_figures_inline()
    from .devices import describe_device, set_num_threads

    set_num_threads(threads)
    ctx = NotebookContext(
        name=name,
        seed=int(seed),
        device=resolve_device(device),
        data_root=Path(data_root).expanduser() if data_root else paths.data_root(),
        output_dir=(
            Path(output_dir).expanduser()
            if output_dir
            else paths.output_root() / "runs" / INTERACTIVE_RUN
        ),
        smoke=bool(smoke),
    )
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    if verbose:
        print_versions()
        import torch

        device_line = describe_device(torch.device(ctx.device))
        print(f"{name}: seed={ctx.seed} device={device_line} smoke={ctx.smoke}")
        print(f"data_root={ctx.data_root}\noutput_dir={ctx.output_dir}")
        processed = paths.processed_dir()
        if processed is not None:  # medmod_lib.workflow.ensure_processed uses it as is
            print(f"processed EHR folder={processed} (${paths.PROCESSED_DIR_ENV})")
    return ctx
