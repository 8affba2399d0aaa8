# %% [markdown]
# # 05 Report: every result of the run in one place
# Reads the combined tidy results table (`reports/<run>/results.csv`, written
# by the runner from the CSVs that the other notebooks save under
# `output_dir/results/`) and the claims' verdicts (`reports/<run>/claims.csv`), and
# renders the same summary as the run's index page: the claims first, one headline
# table per task, and figures that stay readable whatever the number of methods
# (`medmod_lib.runner.summary`). It works on partial or empty results: a run where
# some notebooks failed still gets a report of what finished.

# %% tags=["parameters"]
data_root = None  # unused here; every notebook takes the common parameters
output_dir = None  # None: <output root>/runs/interactive
seed = 0
device = "auto"
smoke = False
results_csv = None  # None: combine output_dir/results/*.csv here
claims_csv = None  # None: combine output_dir/claims/*.csv here

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
from medmod_lib.runner.results import claims_dir, combine_claims, combine_results, results_dir


def load(csv, combine, folder):
    if csv is not None and Path(csv).exists():
        print(f"read {csv}")
        return pd.read_csv(csv)
    combined = combine(sorted(folder.glob("*.csv")))
    for path, reason in combined.skipped:
        print(f"left out {path.name}: {reason}")
    return combined.table


table = load(results_csv, combine_results, results_dir(ctx.output_dir))
claims = load(claims_csv, combine_claims, claims_dir(ctx.output_dir))
print(
    f"{len(table)} result rows from {table['task'].nunique()} task(s); {len(claims)} claim verdicts"
)

# %% [markdown]
# ## 2. The claims, first
# What the run set out to show, each as "model a scores higher than model b on the
# same test stays", with the 95% interval of the difference from the paired bootstrap
# and its verdict per seed (held: interval above 0).

# %%
from medmod_lib.runner import summary

overview = summary.claims_overview(claims)
overview

# %% [markdown]
# ## 3. One headline table per task
# Each task's monitored metric with its 95% interval, one column per test set: the
# paired and partial test sets differ in size and content, so compare models within a
# column. With several seeds a cell gives the mean and the range over seeds.

# %%
for task, headline in summary.headline_tables(table).items():
    print(f"{task}\n{headline.to_string()}\n")

# %% [markdown]
# ## 4. Figures
# A forest plot per task (one panel per test set, so intervals from test sets of
# different sizes never share an axis), the missing-modality curves, and the
# pretraining probe against random encoders. Panels wrap, so the figures stay
# readable however many models, seeds or test sets a run has.

# %%
import matplotlib.pyplot as plt
from IPython.display import display

figures = [summary.forest_figure(table, t) for t in summary.headline_tables(table)]
figures += [summary.sweep_figure(table), summary.pretraining_figure(table)]
figures = [f for f in figures if f is not None]
for fig in figures:  # each shown once, then closed (no second copy at the cell's end)
    display(fig)
    plt.close(fig)
if not figures:
    print("Nothing to plot yet: run the numbered notebooks (or `make demo`) first.")

# %% [markdown]
# ## 5. Every metric, averaged over seeds
# Means over seeds (with the spread across seeds) answer "which method is
# better"; the bootstrap interval of a single seed does not show seed noise.

# %%
keys = ["task", "metric", "method", "protocol", "modality"]
if table.empty:
    means = pd.DataFrame(columns=[*keys, "mean", "sd", "seeds", "n"])
else:
    means = (
        table.groupby(keys, dropna=False)
        .agg(mean=("value", "mean"), sd=("value", "std"), seeds=("seed", "nunique"), n=("n", "max"))
        .reset_index()
        .round({"mean": 4, "sd": 4})
    )
print(f"{len(means)} (task, metric, model) rows; the full table is results.csv")

# %% [markdown]
# ## Takeaways
# Computed from the tables above.

# %%
if claims.empty:
    print("- No claim was checked in this run (notebooks 03 and 04 check them).")
else:
    held = claims["verdict"].eq("held")
    print(f"- {int(held.sum())} of {len(claims)} claim verdicts held (over every seed run).")
    for r in claims[~held].itertuples():
        print(
            f"- not held, seed {r.seed}: {r.task}: {r.statement} ({r.verdict}, "
            f"{r.diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}])."
        )
print(
    f"- {table['seed'].nunique() if not table.empty else 0} seed(s) in this run: compare "
    "methods by the mean over seeds and its spread, not by one seed."
)
