"""Share-safe reports on real data: identifiers and paths redacted, a data-use notice."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from medmod_lib import paths
from medmod_lib.runner import share


def test_identifiers_and_the_data_path_are_redacted(tmp_path):
    root = tmp_path / "physionet"
    text = (
        f"read {root}/mimiciv/3.1/icu/icustays.csv.gz; stay 30000123 of subject 10000032, "
        "hadm 20000019, study 50414267, film 02aa804e-bde0afdd-112c0b34-7bc16630-4e384014; "
        "AUROC 0.81234567, 12 stays, n=1234567, 123456789"
    )
    out = share.redact_text(text, root)
    assert str(root) not in out and "$MEDMOD_DATA_ROOT/mimiciv/3.1" in out
    for ident in ("30000123", "10000032", "20000019", "50414267", "02aa804e"):
        assert ident not in out
    assert "0.81234567" in out and "n=1234567" in out and "123456789" in out


def test_patient_level_cells_lose_their_outputs_and_the_notice_comes_first(tmp_path):
    nb = nbformat.v4.new_notebook()
    film = nbformat.v4.new_code_cell("show(stay)", metadata={"tags": ["patient-level"]})
    film.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]
    table = nbformat.v4.new_code_cell(f"ehr = load('{tmp_path}')")
    table.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="subject 10000032\n"),
        nbformat.v4.new_output("execute_result", data={"text/html": "<td>30000123</td>"}),
    ]
    nb.cells = [film, table]
    state = {"state": {"model-1": {"state": {"outputs": [{"data": {"image/png": "iVBOR"}}]}}}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": state}
    assert share.redact_notebook(nb, tmp_path) == 1
    assert "widgets" not in nb.metadata  # a widget's saved drawing of one stay
    assert nb.cells[0].cell_type == "markdown" and "Data use notice" in nb.cells[0].source
    assert nb.cells[1].outputs == []
    assert str(tmp_path) not in nb.cells[2].source
    assert "10000032" not in nb.cells[2].outputs[0]["text"]
    assert "30000123" not in nb.cells[2].outputs[1]["data"]["text/html"]
    nbformat.validate(nb)


def test_only_the_synthetic_default_root_is_reported_unredacted(tmp_path):
    assert share.share_safe_default(tmp_path)
    assert not share.share_safe_default(paths.default_data_root())


@pytest.mark.notebooks
def test_a_share_safe_run_names_no_path_and_carries_the_notice(tmp_path, make_toys):
    from medmod_lib.runner.execute import RunPlan, run_experiment
    from medmod_lib.runner.experiment import Experiment

    notebooks = make_toys(tmp_path / "notebooks", ("00_alpha",))
    data_root = tmp_path / "secret-physionet"
    plan = RunPlan(
        run_dir=tmp_path / "reports" / "r",
        output_dir=tmp_path / "outputs" / "r",
        data_root=data_root,
        notebooks_dir=notebooks,
        share_safe=True,
    )
    exp = Experiment(
        name="t", profile="smoke", smoke=True, device="cpu", source=["t"], summary=None
    )
    jobs = run_experiment(exp, plan, progress=False)
    assert [j["status"] for j in jobs] == ["ok"]
    for page in (plan.run_dir / "00_alpha.html", plan.run_dir / "index.html"):
        text = page.read_text()
        assert "secret-physionet" not in text, page
        assert "data use" in text.lower()
    assert "secret-physionet" not in Path(plan.run_dir / "run_state.json").read_text()
