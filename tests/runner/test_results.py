"""Tidy results: strict columns, sorted stable concatenation, reported skips."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from medmod_lib.runner.results import (
    REQUIRED_COLUMNS,
    RESULT_COLUMNS,
    combine_results,
    results_dir,
    save_results,
    write_combined,
)


def _row(method: str, seed: int, value: float) -> list:
    return ["mortality", method, "linear", "ehr+cxr", seed, "auroc", value, None, None, 100]


def _frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(REQUIRED_COLUMNS))


def test_save_and_combine_sorts_and_is_byte_stable(tmp_path):
    save_results(_frame(_row("vicreg", 1, 0.7123456789)), tmp_path, "b")
    save_results(_frame(_row("simclr", 0, 0.65), _row("vicreg", 0, 0.7)), tmp_path, "a")
    combined = combine_results(list(results_dir(tmp_path).glob("*.csv")))
    assert [p.name for p in combined.files] == ["a.csv", "b.csv"] and not combined.skipped
    table = combined.table
    assert list(table.columns) == list(RESULT_COLUMNS)
    assert list(zip(table["method"], table["seed"], strict=True)) == [
        ("simclr", 0), ("vicreg", 0), ("vicreg", 1),
    ]  # fmt: skip
    assert table["value"].iloc[2] == pytest.approx(0.712346)  # 6 significant digits
    assert math.isnan(table["ci_low"].iloc[0])
    first = write_combined(combined, tmp_path / "one.csv").read_bytes()
    again = combine_results(list(results_dir(tmp_path).glob("*.csv")))
    assert write_combined(again, tmp_path / "two.csv").read_bytes() == first


def test_wrong_columns_raise_on_save_and_are_reported_on_combine(tmp_path):
    bad = _frame(_row("simclr", 0, 0.5)).drop(columns=["n"]).assign(extra=1)
    with pytest.raises(ValueError, match=r"missing \['n'\], unexpected \['extra'\]"):
        save_results(bad, tmp_path, "x")
    with pytest.raises(ValueError, match="letters, digits"):
        save_results(_frame(_row("a", 0, 0.5)), tmp_path, "../escape")
    results_dir(tmp_path).mkdir()
    bad.to_csv(results_dir(tmp_path) / "bad.csv", index=False)
    (results_dir(tmp_path) / "empty.csv").write_text("")
    save_results(_frame(_row("simclr", 0, 0.5)), tmp_path, "good")
    combined = combine_results(sorted(results_dir(tmp_path).glob("*.csv")))
    assert len(combined.table) == 1
    assert sorted(p.name for p, _ in combined.skipped) == ["bad.csv", "empty.csv"]
    assert "missing ['n']" in dict((p.name, r) for p, r in combined.skipped)["bad.csv"]


def test_combine_of_nothing_is_an_empty_table_with_the_columns():
    combined = combine_results([])
    assert combined.table.empty and list(combined.table.columns) == list(RESULT_COLUMNS)
