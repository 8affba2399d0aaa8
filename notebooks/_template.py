# %% [markdown]
# # NN Title: what this notebook shows
# One or two sentences of purpose: the question it answers, what it reads
# (the data root, artifacts of earlier notebooks in `output_dir`) and what it
# writes (artifacts, a tidy results table). Copy this file to `NN_name.py`,
# keep the skeleton, and run `make notebooks` to (re)generate the `.ipynb`.

# %% tags=["parameters"]
# Parameters: the `cpu` profile's values (what a student gets when opening the
# notebook). Profiles in medmod_lib/experiments/*.yaml override them per run.
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # auto | cpu | cuda | cuda:N | mps; never assume CUDA
smoke = False  # True: tiny settings, seconds per notebook (tests)
epochs = 2

# %%
# Setup: seeds, device, display caps, harmless warnings off, versions printed.
from medmod_lib import notebook

ctx = notebook.setup(
    name="_template",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)

# %% [markdown]
# ## 1. Build a small table
# Every step starts with a heading and a sentence saying why the step is here;
# the code below it should be short and call into `medmod_lib`.

# %%
import numpy as np
import pandas as pd

rng = np.random.default_rng(ctx.seed)
values = rng.normal(size=(8 if ctx.smoke else 64, 3))
frame = pd.DataFrame(values, columns=["a", "b", "c"])
frame.describe()

# %% [markdown]
# ## 2. Report a deterministic summary
# Results go into a tidy table (one row per metric) that the runner combines
# into `reports/<run>/results.csv`; a `# NBVAL_CHECK_OUTPUT` cell lets the
# notebook tests compare a summary that must not change.

# %%
# NBVAL_CHECK_OUTPUT
results = pd.DataFrame(
    {
        "task": ["demo"],
        "method": ["template"],
        "protocol": ["none"],
        "modality": ["none"],
        "seed": [ctx.seed],
        "metric": ["mean_a"],
        "value": [round(float(frame["a"].mean()), 4)],
        "ci_low": [np.nan],
        "ci_high": [np.nan],
        "n": [len(frame)],
    }
)
print(results[["metric", "value", "n"]].to_string(index=False))
# In a numbered notebook: ctx.save_results(results, tag="")  -> output_dir/results/*.csv

# %% [markdown]
# ## Takeaways
# - Bullet points a reader should remember, in plain words.
# - What to try next (another parameter value, the next notebook).
