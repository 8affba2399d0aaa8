"""The runner end to end on toy notebooks: grid, failure, skip, index, resume, repeat."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from medmod_lib.runner.execute import RunPlan, run_experiment
from medmod_lib.runner.experiment import Experiment, UnknownParameterError
from medmod_lib.runner.results import RESULT_COLUMNS

pytestmark = pytest.mark.notebooks


def _plan(root: Path, run: str, notebooks: Path) -> RunPlan:
    return RunPlan(
        run_dir=root / "reports" / run,
        output_dir=root / "outputs" / run,
        data_root=root / "data",
        notebooks_dir=notebooks,
    )


def _exp(**kwargs) -> Experiment:
    base = {"name": "toy", "profile": "smoke", "smoke": True, "device": "cpu", "source": ["t"]}
    return Experiment(**{**base, **kwargs})


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, make_toys):
    """One run: method grid (simclr ok, bad fails in 01_beta), then a resumed run."""
    root = tmp_path_factory.mktemp("toyrun")
    notebooks = make_toys(root / "notebooks")
    exp = _exp(grid={"method": ["simclr", "bad"]})
    plan = _plan(root, "toy", notebooks)
    first = {j["name"]: j for j in run_experiment(exp, plan, progress=False)}
    mtimes = {p.name: p.stat().st_mtime_ns for p in plan.run_dir.glob("*.ipynb")}
    second = {j["name"]: j for j in run_experiment(exp, plan, resume=True, progress=False)}
    return plan, first, second, mtimes


def test_grid_copies_and_statuses(toy_run):
    _, first, _, _ = toy_run
    assert {n: j["status"] for n, j in first.items()} == {
        "00_alpha": "ok",
        "01_beta__method-simclr": "ok",
        "01_beta__method-bad": "failed",
        "02_gamma__method-simclr": "ok",
        "02_gamma__method-bad": "skipped",
        "05_report": "ok",  # the summary runs even after a failure
    }
    assert first["02_gamma__method-bad"]["reason"] == "depends on 01_beta__method-bad, which failed"
    assert first["01_beta__method-simclr"]["parameters"]["method"] == "simclr"
    assert first["05_report"]["parameters"]["results_csv"].endswith("toy/results.csv")


def test_failure_names_the_cell_and_error_in_the_index(toy_run):
    plan, first, _, _ = toy_run
    err = first["01_beta__method-bad"]["error"]
    assert err["ename"] == "ValueError" and err["evalue"] == "boom in beta (bad)"
    assert 'if method == "bad":' in err["where"] and "In [" in err["where"]
    index = (plan.run_dir / "index.html").read_text()
    assert "boom in beta (bad)" in index and "if method == &quot;bad&quot;:" in index
    assert "depends on 01_beta__method-bad, which failed" in index
    assert '<a href="01_beta__method-bad.html">' in index  # the failed copy is kept


def test_html_pages_results_and_capped_outputs(toy_run):
    plan, first, _, _ = toy_run
    for name, job in first.items():
        assert (job["status"] == "skipped") != (plan.run_dir / f"{name}.html").exists()
    rows = (plan.run_dir / "results.csv").read_text().splitlines()
    # The required columns, then the (here empty) provenance columns of the evaluation module.
    assert rows[0] == ",".join(RESULT_COLUMNS)
    assert rows[0].startswith("task,method,protocol,modality,seed,metric,value,ci_low,ci_high,n,")
    assert len(rows) == 2 and rows[1].startswith("mortality,simclr,linear,ehr,0,auroc,")
    report = nbformat.read(plan.run_dir / "05_report.ipynb", 4)
    assert "rows=1" in "".join(
        o.get("text", "") for c in report.cells for o in c.get("outputs", [])
    )
    alpha = nbformat.read(plan.run_dir / "00_alpha.ipynb", 4)
    text = "".join(o.get("text", "") for c in alpha.cells for o in c.get("outputs", []))
    assert "line 0\n" in text and "line 249\n" in text and "line 125\n" not in text
    assert "[150 lines cut by the runner; the full output was 250 lines]" in text


def test_resume_keeps_finished_copies_and_retries_failures(toy_run):
    plan, first, second, mtimes = toy_run
    assert second["00_alpha"]["status"] == "cached"
    assert second["00_alpha"]["wall_s"] == first["00_alpha"]["wall_s"]
    assert second["01_beta__method-bad"]["status"] == "failed"  # re-executed, fails again
    assert second["05_report"]["status"] == "ok"  # the summary always reruns
    after = {p.name: p.stat().st_mtime_ns for p in plan.run_dir.glob("*.ipynb")}
    for name in ("00_alpha", "01_beta__method-simclr", "02_gamma__method-simclr"):
        assert after[f"{name}.ipynb"] == mtimes[f"{name}.ipynb"]
    assert after["05_report.ipynb"] != mtimes["05_report.ipynb"]
    state = json.loads((plan.run_dir / "run_state.json").read_text())
    assert state["jobs"]["00_alpha"]["hash"] == first["00_alpha"]["hash"]
    assert "ok (resumed)" in (plan.run_dir / "index.html").read_text()


def test_unknown_parameter_fails_before_anything_runs(tmp_path, make_toys):
    notebooks = make_toys(tmp_path / "nb")
    plan = _plan(tmp_path, "typo", notebooks)
    with pytest.raises(UnknownParameterError, match="notebooks.01_beta.scael"):
        run_experiment(_exp(notebooks={"01_beta": {"scael": 2}}), plan, progress=False)
    assert not plan.run_dir.exists()


def test_same_seed_reproduces_the_results_csv_and_only_reruns_changed(tmp_path, make_toys):
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha", "01_beta"))
    exp = _exp(seeds=[3], notebooks={"01_beta": {"scale": 2.0}})
    a, b = _plan(tmp_path, "a", notebooks), _plan(tmp_path, "b", notebooks)
    run_experiment(exp, a, progress=False)
    run_experiment(exp, b, progress=False)
    first = (a.run_dir / "results.csv").read_bytes()
    assert first == (b.run_dir / "results.csv").read_bytes()
    assert b"mortality,simclr,linear,ehr,3,auroc" in first
    changed = _exp(seeds=[3], notebooks={"01_beta": {"scale": 1.0}})
    jobs = run_experiment(changed, a, resume=True, only=["01"], progress=False)
    assert [(j["name"], j["status"]) for j in jobs] == [("01_beta", "ok")]  # new hash: rerun
    assert (a.run_dir / "results.csv").read_bytes() != first
    state = json.loads((a.run_dir / "run_state.json").read_text())["jobs"]
    assert state["00_alpha"]["status"] == "ok"  # not selected: its record is kept
    assert (a.run_dir / "00_alpha.html").exists()
    assert '<a href="00_alpha.html">' in (a.run_dir / "index.html").read_text()
    with pytest.raises(ValueError, match="--only 09: no such notebook"):
        run_experiment(changed, a, only=["09"], progress=False)


def test_missing_kernel_is_reported_with_the_fix(tmp_path, make_toys):
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha",))
    plan = _plan(tmp_path, "nokernel", notebooks)
    (job,) = run_experiment(_exp(), plan, kernel_name="no-such-kernel", progress=False)
    assert job["status"] == "failed" and job["error"]["ename"] == "NoSuchKernel"
    assert "ipykernel install --sys-prefix --name python3" in job["error"]["evalue"]
    assert "NoSuchKernel" in (plan.run_dir / "index.html").read_text()


def test_a_failed_rerun_leaves_none_of_its_earlier_results(tmp_path, make_toys):
    """Regression: --resume kept a failed notebook's old numbers in results.csv and the index."""
    from medmod_lib.runner import hygiene

    notebooks = make_toys(tmp_path / "notebooks", ("00_alpha", "01_beta"))
    exp = _exp(grid={"method": ["simclr"]})
    plan = _plan(tmp_path, "toy", notebooks)
    run_experiment(exp, plan, progress=False)
    combined = (plan.run_dir / "results.csv").read_text()
    assert "simclr" in combined
    beta = notebooks / "01_beta.py"
    beta.write_text(beta.read_text().replace('if method == "bad":', 'if method == "simclr":'))
    hygiene.sync_pair(beta)
    second = {j["name"]: j for j in run_experiment(exp, plan, resume=True, progress=False)}
    assert [j["status"] for name, j in second.items() if name.startswith("01_beta")] == ["failed"]
    assert not list((plan.output_dir / "results").glob("01_beta*"))
    assert "simclr" not in (plan.run_dir / "results.csv").read_text()
