# %% [markdown]
# # 05 Report: every result of the run in one place
# Reads the combined tidy results table (`reports/<run>/results.csv`, written
# by the runner from the CSVs that the other notebooks save under
# `output_dir/results/`) and renders a summary table and one plot per task.
# It works on partial or empty results: a run where some notebooks failed still
# gets a report of what finished.

# %% tags=["parameters"]
data_root = None  # unused here; every notebook takes the common parameters
output_dir = None  # None: <output root>/runs/interactive
seed = 0
device = "auto"
smoke = False
results_csv = None  # None: combine output_dir/results/*.csv here

# %%
from medmod_lib import notebook

ctx = notebook.setup(
    name="05_report",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)

# %% [markdown]
# ## 1. Load the results
# One table for all notebooks, seeds and methods is what makes results
# comparable; rows from files with the wrong columns are left out and listed.

# %%
from pathlib import Path

import pandas as pd
from medmod_lib.runner.results import combine_results, results_dir

if results_csv is not None and Path(results_csv).exists():
    table = pd.read_csv(results_csv)
    print(f"read {results_csv}")
else:
    combined = combine_results(sorted(results_dir(ctx.output_dir).glob("*.csv")))
    table = combined.table
    for path, reason in combined.skipped:
        print(f"left out {path.name}: {reason}")
print(f"{len(table)} result rows from {table['task'].nunique()} task(s)")

# %% [markdown]
# ## 2. Summary table
# Means over seeds (with the spread across seeds) answer "which method is
# better"; the bootstrap interval of a single seed does not show seed noise.

# %%
keys = ["task", "metric", "method", "protocol", "modality"]
if table.empty:
    summary = pd.DataFrame(columns=[*keys, "mean", "sd", "seeds", "n"])
    print("No results yet: run the numbered notebooks (or `make demo`) first.")
else:
    summary = (
        table.groupby(keys, dropna=False)
        .agg(mean=("value", "mean"), sd=("value", "std"), seeds=("seed", "nunique"), n=("n", "max"))
        .reset_index()
        .round({"mean": 4, "sd": 4})
    )
summary

# %% [markdown]
# ## 3. One plot per task and metric
# A picture of the same numbers, with each seed's interval, makes overlapping
# methods visible at a glance.

# %%
import matplotlib.pyplot as plt

groups = list(table.groupby(["task", "metric"])) if not table.empty else []
if groups:
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3), squeeze=False)
    for ax, ((task, metric), rows) in zip(axes[0], groups, strict=True):
        labels = rows["method"].astype(str) + "/" + rows["protocol"].astype(str)
        labels = labels + "/" + rows["modality"].astype(str)
        low = (rows["value"] - rows["ci_low"]).fillna(0).clip(lower=0)
        high = (rows["ci_high"] - rows["value"]).fillna(0).clip(lower=0)
        ax.errorbar(rows["value"], labels, xerr=[low, high], fmt="o", capsize=3)
        ax.set_title(f"{task}: {metric}")
    fig.tight_layout()
    plt.show()
else:
    print("Nothing to plot.")

# %% [markdown]
# ## Takeaways
# - `reports/<run>/results.csv` holds every number of the run in tidy form;
#   this notebook only summarises it, so it can be rerun on any run folder.
# - Compare methods by the mean over seeds and its spread, not by one seed.
