"""Experiment files and profiles: settings as data, expanded into notebook jobs.

An experiment file (YAML) names the notebooks to run and the values to give
their ``parameters`` cells. A profile (``smoke``, ``cpu``, ``gpu``) is a file of
the same shape shipped in ``medmod_lib/experiments/``; the experiment is laid
over it. For one notebook the value of a parameter comes from, last wins:

1. the notebook's own ``parameters`` cell (the ``cpu`` defaults),
2. shared ``parameters``: the profile's, then the experiment's,
3. per-notebook ``notebooks.<NN_name>``: the profile's, then the experiment's
   (so a smoke profile's tiny per-notebook settings stay tiny),
4. the grid (``seeds`` and ``grid``: one executed copy per combination),
5. the top-level keys ``device`` and ``smoke``; the runner adds ``data_root``
   and ``output_dir``.

Shared parameters and grid axes apply to the notebooks whose parameters cell
declares them. Names are checked before anything runs: a per-notebook name the
notebook does not declare, or a shared name no notebook declares (and that is
not one of :data:`STANDARD_KNOBS`), raises :class:`UnknownParameterError`.

Example experiment file::

    name: methods
    profile: cpu
    seeds: [0, 1]
    grid:
      method: [simclr, vicreg, align]
    parameters:
      epochs: 20
    notebooks:
      03_linear_eval: {protocol: linear}
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Parameters every numbered notebook declares; the runner always sets them.
COMMON_PARAMETERS = ("data_root", "output_dir", "seed", "device", "smoke")

#: Knob names shared by convention (see notebooks/README.md). A profile may set
#: them before any notebook declares them; they apply where declared.
STANDARD_KNOBS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "max_samples",
    "image_size",
    "num_workers",
    "amp",
    "tasks",
    "methods",
    "bootstrap",
)

PROFILES = ("smoke", "cpu", "gpu")
_KEYS = {
    "name",
    "description",
    "profile",
    "data_root",
    "device",
    "smoke",
    "seeds",
    "grid",
    "parameters",
    "notebooks",
    "depends_on",
    "summary",
    "timeout_per_cell",
}
NOTEBOOK_RE = re.compile(r"^\d\d_[A-Za-z0-9_]+$")


class ExperimentError(ValueError):
    """An experiment or profile file is malformed."""


class UnknownParameterError(ExperimentError):
    """A parameter name that no notebook's ``parameters`` cell declares."""


def experiments_dir() -> Path:
    """The folder of shipped profiles and experiments (``medmod_lib/experiments``)."""
    return Path(__file__).resolve().parent.parent / "experiments"


@dataclass
class Experiment:
    """Settings of one batch run, after the profile has been applied.

    Attributes:
        name: Short name, used for the default run folder.
        profile: ``smoke``, ``cpu`` or ``gpu``.
        data_root: Raw-data root, or None for :func:`medmod_lib.paths.data_root`.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
        smoke: Whether notebooks run their tiny smoke settings.
        seeds: One executed copy per seed (a grid axis named ``seed``).
        grid: Further grid axes, e.g. ``{"method": ["simclr", "vicreg"]}``.
        parameters: Shared overrides, applied where a notebook declares the name.
        notebooks: Per-notebook overrides ``{"02_pretraining": {"epochs": 1}}``.
        depends_on: Per-notebook dependencies; default: every earlier notebook.
        summary: The notebook run last on the combined results (``05_report``).
        timeout_per_cell: Seconds a cell may run, None for no limit.
        source: The file(s) the settings came from.
        profile_only: Notebooks whose per-notebook settings come only from the
            shipped profile; ignored when such a notebook is not in the folder
            (a custom notebook folder need not have every kit notebook).
        overridden: One line per shared experiment parameter that a profile's
            per-notebook value overrides (rule 3 above rule 2), shown by ``--dry-run``.
    """

    name: str = "demo"
    profile: str = "cpu"
    data_root: str | None = None
    device: str = "auto"
    smoke: bool = False
    seeds: list[int] = field(default_factory=lambda: [0])
    grid: dict[str, list[Any]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    depends_on: dict[str, list[str]] = field(default_factory=dict)
    summary: str | None = "05_report"
    timeout_per_cell: float | None = None
    source: list[str] = field(default_factory=list)
    profile_only: set[str] = field(default_factory=set)
    overridden: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        axes = {"seed": self.seeds, **self.grid}
        shape = " x ".join(f"{k}[{len(v)}]" for k, v in axes.items())
        return f"Experiment(name={self.name!r}, profile={self.profile!r}, grid={shape})"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ExperimentError(f"Experiment file {path} does not exist.") from None
    except yaml.YAMLError as err:
        raise ExperimentError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: expected a mapping at the top level, got {type(data)}.")
    unknown = set(data) - _KEYS
    if unknown:
        raise ExperimentError(
            f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}. "
            "Notebook parameters go under `parameters:` or `notebooks: {NN_name: {...}}`."
        )
    for key in ("grid", "parameters", "notebooks", "depends_on"):
        if not isinstance(data.get(key, {}) or {}, dict):
            raise ExperimentError(f"{path}: `{key}` must be a mapping.")
    for axis, values in (data.get("grid") or {}).items():
        if not isinstance(values, list) or not values:
            raise ExperimentError(f"{path}: grid axis `{axis}` must be a non-empty list.")
        if axis in ("data_root", "output_dir", "seed"):
            raise ExperimentError(f"{path}: use `seeds:` (not grid) for seeds; `{axis}` is fixed.")
    return data


def _merge(base: Experiment, data: dict[str, Any], source: Path) -> Experiment:
    out = copy.deepcopy(base)
    for key in ("name", "profile", "data_root", "device", "smoke", "summary", "timeout_per_cell"):
        if key in data:
            setattr(out, key, data[key])
    if "seeds" in data:
        seeds = data["seeds"]
        seeds = [seeds] if isinstance(seeds, int) else seeds
        if not seeds or not all(isinstance(s, int) for s in seeds):
            raise ExperimentError(f"{source}: `seeds` must be an int or a list of ints.")
        out.seeds = list(seeds)
    out.grid.update(data.get("grid") or {})
    out.parameters.update(data.get("parameters") or {})
    for nb, values in (data.get("notebooks") or {}).items():
        if not isinstance(values, dict):
            raise ExperimentError(f"{source}: `notebooks.{nb}` must be a mapping of parameters.")
        out.notebooks.setdefault(nb, {}).update(values)
    out.depends_on.update(data.get("depends_on") or {})
    out.source.append(str(source))
    return out


def profile_path(profile: str) -> Path:
    """The shipped YAML of a profile."""
    if profile not in PROFILES:
        raise ExperimentError(f"Unknown profile {profile!r}; choose one of {PROFILES}.")
    return experiments_dir() / f"{profile}.yaml"


def load_experiment(path: str | Path | None = None, profile: str | None = None) -> Experiment:
    """Read an experiment file and lay it over its profile.

    Args:
        path: Experiment YAML; None for the default ``medmod_lib/experiments/demo.yaml``.
        profile: Overrides the file's ``profile:`` (e.g. from ``--profile``).

    Returns:
        The merged :class:`Experiment`.

    Raises:
        ExperimentError: The file is missing, not YAML, or has unknown keys.
    """
    path = Path(path) if path is not None else experiments_dir() / "demo.yaml"
    data = _read_yaml(path)
    if not data:
        raise ExperimentError(
            f"{path} is empty (or only comments): it would silently run the defaults. "
            "Give at least `name:`; copy medmod_lib/experiments/demo.yaml to start from."
        )
    chosen = profile or data.get("profile") or "cpu"
    base = _merge(
        Experiment(profile=chosen), _read_yaml(profile_path(chosen)), profile_path(chosen)
    )
    exp = _merge(base, data, path)
    exp.profile = chosen
    exp.profile_only = set(base.notebooks) - set(data.get("notebooks") or {})
    mine = data.get("notebooks") or {}
    for nb, values in sorted(base.notebooks.items()):
        for name in sorted(set(values) & set(data.get("parameters") or {})):
            if name not in (mine.get(nb) or {}):
                exp.overridden.append(
                    f"{nb}: {name}={values[name]!r} from the {chosen} profile's "
                    f"notebooks.{nb} overrides the experiment's parameters.{name}="
                    f"{data['parameters'][name]!r} (set notebooks.{nb}.{name} to change it)"
                )
    return exp


#: How a value's source is chosen (printed by ``--dry-run``; see the module docstring).
PRECEDENCE = (
    "precedence, last wins: notebook defaults < shared parameters (profile, then "
    "experiment) < per-notebook values (profile, then experiment) < grid and seeds < "
    "device/smoke"
)


def choices_from_help(help_text: str, default: Any) -> list[str] | None:
    """The values a parameters-cell comment declares, e.g. ``# vicreg | simclr | align``.

    The alternatives are the first words of the ``|``-separated parts, taken from a
    parenthesised group (``# modality (ehr | cxr)``) or after a ``label:`` prefix. They
    count only when the default is one of them (or a list of them), so prose that
    happens to contain a ``|`` is not mistaken for a declaration.
    """
    text = help_text or ""
    group = re.search(r"\(([^()]*\|[^()]*)\)", text)
    if group:
        text = group.group(1)
    elif ":" in text.split("|")[0]:
        text = text.split(":", 1)[1]
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 2:
        return None
    words = [re.match(r"[A-Za-z0-9_+.\-]+", p) for p in parts]
    if not all(words):
        return None
    choices = [w.group(0) for w in words]
    values = default if isinstance(default, list) else [default]
    if not values or not all(isinstance(v, str) and v in choices for v in values):
        return None
    return choices


def check_choices(jobs: list[Job], choices: dict[str, dict[str, list[str]]]) -> None:
    """Fail before anything runs if a value is not one the notebook declares.

    Raises:
        ExperimentError: naming every copy, parameter, value and the declared choices.
    """
    problems = []
    for job in jobs:
        for name, allowed in choices.get(job.notebook, {}).items():
            if name in COMMON_PARAMETERS or name not in job.parameters:
                continue
            value = job.parameters[name]
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in allowed]
            if bad:
                problems.append(
                    f"{job.name}: {name}={value!r}: {bad} not one of {' | '.join(allowed)}"
                )
    if problems:
        raise ExperimentError(
            "Values the notebooks do not declare:\n  - "
            + "\n  - ".join(dict.fromkeys(problems))
            + "\nFix the spelling (the choices are in each notebook's parameters cell)."
        )


@dataclass(frozen=True)
class Job:
    """One executed copy of one notebook.

    Attributes:
        notebook: Notebook stem, e.g. ``02_pretraining``.
        name: Copy name, e.g. ``02_pretraining__method-simclr_seed-1``.
        grid: The grid values this copy takes (only axes the notebook declares).
        parameters: Everything passed to papermill except the runner's paths.
    """

    notebook: str
    name: str
    grid: dict[str, Any]
    parameters: dict[str, Any]


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(value)).strip("-") or "x"


def check_parameters(exp: Experiment, declared: dict[str, set[str]]) -> None:
    """Fail before anything runs if a name is declared by no notebook.

    Args:
        exp: The experiment.
        declared: Parameter names of each notebook's ``parameters`` cell, for
            every numbered notebook in the folder (not only the selected ones).

    Raises:
        UnknownParameterError: With every offending name and where it came from.
    """
    problems = []
    everywhere = set().union(*declared.values()) if declared else set()
    for nb, values in exp.notebooks.items():
        if nb not in declared:
            if nb in exp.profile_only:
                continue
            problems.append(f"`notebooks.{nb}`: no notebook {nb}.ipynb (have {sorted(declared)})")
            continue
        for name in sorted(set(values) - declared[nb]):
            problems.append(f"`notebooks.{nb}.{name}`: {nb} declares {sorted(declared[nb])}")
    for name in sorted(exp.parameters):
        if name not in everywhere and name not in STANDARD_KNOBS:
            problems.append(f"`parameters.{name}`: no notebook declares it")
        if name in COMMON_PARAMETERS:
            problems.append(f"`parameters.{name}`: set it as a top-level key `{name}:`")
    for axis in sorted(exp.grid):
        if axis not in everywhere:
            problems.append(f"`grid.{axis}`: no notebook declares it")
    if problems:
        raise UnknownParameterError(
            f"Unknown parameter names in {' + '.join(exp.source)}:\n  - "
            + "\n  - ".join(problems)
            + "\nFix the spelling, or add the name to the notebook's `parameters` cell."
        )


def expand_jobs(exp: Experiment, declared: dict[str, set[str]], order: list[str]) -> list[Job]:
    """Expand the grid into jobs, notebook by notebook in ``order``.

    An axis applies to the notebooks that declare it; a notebook gets one copy
    per combination of the axes it declares. Only axes with more than one value
    appear in copy names. The summary notebook (``exp.summary``) runs once.

    Args:
        exp: The experiment.
        declared: Parameter names declared by each notebook.
        order: The notebooks to run, in order.

    Returns:
        The jobs, in execution order (grid combinations in file order).
    """
    check_parameters(exp, declared)
    axes = {"seed": list(exp.seeds), **exp.grid}
    jobs = []
    for nb in order:
        mine = {a: v for a, v in axes.items() if a in declared[nb] or a == "seed"}
        if nb == exp.summary:  # one summary of all copies, with the first seed
            mine = {"seed": [exp.seeds[0]]}
        for combo in itertools.product(*mine.values()):
            grid = dict(zip(mine, combo, strict=True))
            params: dict[str, Any] = {}
            params.update({k: v for k, v in exp.parameters.items() if k in declared[nb]})
            params.update(exp.notebooks.get(nb, {}))
            params.update(grid)
            params.update(device=exp.device, smoke=bool(exp.smoke))
            suffix = "_".join(f"{a}-{_slug(grid[a])}" for a in mine if len(mine[a]) > 1)
            name = f"{nb}__{suffix}" if suffix else nb
            jobs.append(Job(notebook=nb, name=name, grid=grid, parameters=params))
    return jobs
