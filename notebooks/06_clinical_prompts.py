# %% [markdown]
# # 06 Clinical prompts: X-rays paired with the stay's EHR written as text
# MEDIMP (Milecki et al., 2023) turned structured clinical data into text prompts
# and learned image-text representations contrastively. This notebook does that on
# MIMIC: it writes prompts from each linked stay's demographics, vitals and labs
# (only what is known at the prediction time), pretrains an X-ray encoder against
# them with the CLIP loss (`prompt-clip`), checks it by X-ray -> prompt retrieval,
# and compares it by linear evaluation with EHR-time-series ALIGN (notebook 02's
# checkpoint, or trained here) and X-ray-only SimCLR on in-hospital mortality and
# radiology. It reads the data root and `output_dir` and writes checkpoints under
# `output_dir/pretrain/` and a tidy results table.

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - turn a stay's structured EHR into clinical text prompts that use only what is
#   known at the prediction time, and augment them without a language model;
# - pretrain an X-ray encoder against text with the CLIP loss, and sanity-check it by
#   X-ray -> prompt retrieval against its chance level;
# - compare image encoders (prompt-clip, EHR-time-series ALIGN, X-ray-only SimCLR, an
#   untrained ResNet) with one linear-evaluation protocol and paired bootstrap
#   differences;
# - recognise a null result (too few optimisation steps, too few test samples) and
#   say what would be needed to resolve it.
#
# **Prerequisites.** `02_pretraining` (contrastive and CLIP losses, ALIGN) and
# `03_linear_eval` (linear probes, paired bootstrap of a difference); sentence
# embeddings at the level of "a frozen model maps text to a vector".
#
# **Time.** About 2 min to run on 2 CPU cores in the default `cpu` profile (three
# short pretraining runs and the probes; the first run also embeds the prompts);
# about 20 minutes to read, plus the exercises.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # auto | cpu | cuda | cuda:N | mps; never assume CUDA
smoke = False  # True: tiny settings, seconds per notebook (tests)
epochs = 3  # pretraining epochs of each method (MedMod: 300); cpu: ~1 min each
batch_size = 32  # pretraining and probe batch (MedMod: 256)
learning_rate = 1e-3  # AdamW peak rate of the pretraining runs
image_size = 64  # X-ray side in pixels (benchmark: 224)
max_samples = None  # cap per split (smoke runs); None: every paired stay
cxr_arch = "resnet18"  # image encoder of every method (MedMod: resnet34)
ehr_hidden_dim = 64  # ALIGN's LSTM width, as notebook 02 (MedMod ALIGN: 256)
max_bins = 48  # hours of EHR input per stay, as notebook 02 (mortality: the first 48 h)
text_encoder = "minilm"  # minilm: frozen all-MiniLM-L6-v2 + trained head; hashing: from scratch
n_variants = 4  # texts per stay: the canonical prompt + augmentations
history = False  # also state diagnoses of the subject's earlier admissions
pretrain_task = "in-hospital-mortality"  # linked cohort whose paired stays every method trains on
eval_tasks = ["in-hospital-mortality", "radiology"]  # linear-evaluation tasks
probe_epochs = 20  # epochs of each linear probe (MedMod: 100)
bootstrap = 200  # bootstrap resamples of the test intervals (gpu profile: 1000)
amp = False  # mixed precision (CUDA only)
num_workers = 0  # data-loader workers

# %%
from medmod_lib import notebook

ctx = notebook.setup(
    name="06_clinical_prompts",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)

# %% [markdown]
# ## 1. Paired stays
# Every method learns from the same pairs: the paired stays of one task's linked
# cohort (training split, augmented images); the validation pairs pick each
# method's epoch by a linear probe, as in notebook 02.

# %%
from medmod_lib import workflow
from medmod_lib.pretrain.linked import PairData, linked_pairs

workflow.ensure_data(ctx.data_root)
ehr = workflow.ensure_processed(ctx.data_root, ctx.output_dir)
linked = workflow.ensure_linked(ehr, ctx.data_root, ctx.output_dir)
cache = workflow.ensure_image_cache(ctx.data_root, ctx.output_dir, progress=not ctx.smoke)
pair_settings = PairData(
    task=pretrain_task,
    image_size=image_size,
    max_bins=max_bins,
    max_samples=max_samples,
    sample_seed=ctx.seed,
)
pairs = linked_pairs(linked, ehr, cache, pair_settings)
rule = linked.cohort(pretrain_task, "paired").rule
print(pairs)
print("prompt window:", rule.describe())

# %% [markdown]
# ## 2. Prompts and their augmentations
# A prompt states age group, sex, admission type and the vitals and labs charted
# inside the task's window, in clinical words; it never reads an event after the
# window end (tests check this for every task). Training draws one of several
# seeded variants per step (paraphrases, shuffled sentences, dropped attributes,
# rounded numbers and °F), MEDIMP's textual augmentation without a language model.
# On real MIMIC data a prompt is patient-level text under the PhysioNet data use
# agreement: never paste it into an online service (chatbots, translation, hosted
# language models); the kit's text encoders run offline.

# %% tags=["patient-level"]
from medmod_lib.prompts import prompt_datasets

prompts = prompt_datasets(
    pairs,
    ehr,
    rule=rule,
    cache_dir=ctx.output_dir / "prompt_cache" if text_encoder == "minilm" else None,
    n_variants=n_variants,
    seed=ctx.seed,
    history_root=ctx.data_root if history else None,
    device=ctx.device,
    progress=not ctx.smoke,
)
example = prompts.train.table
print(
    f"stay {example.samples['stay_id'].iloc[0]}, window {example.samples['window_hours'].iloc[0]:.0f} h"
)
for k, text in enumerate(example.variants[0]):
    print(f"[{'canonical' if k == 0 else f'variant {k}'}] {text}")

# %%
# NBVAL_CHECK_OUTPUT
for split in ("train", "val", "test"):
    table = getattr(prompts, split).table
    print(
        f"{split:5s}: {len(table):4d} pairs, {table.samples['prompt'].nunique():4d} distinct "
        f"prompts, {table.n_variants} texts each, window {table.samples['window_hours'].max():.0f} h"
    )

# %%
if prompts.cache is not None:
    print(f"embedding cache: {prompts.cache.hits} texts reused, {prompts.cache.misses} encoded")

# %% [markdown]
# ## 3. Image-text pretraining (`prompt-clip`)
# The X-ray encoder and a projection head on the frozen sentence embeddings are
# aligned with the library's CLIP loss (learnable temperature) through the one
# training loop; a rerun with the same settings reuses the checkpoint.

# %%
from medmod_lib.prompts import PromptCLIPConfig
from medmod_lib.prompts.compare import ensure_prompt_clip

clip_config = PromptCLIPConfig(
    text_encoder=text_encoder,
    cxr_arch=cxr_arch,
    epochs=epochs,
    batch_size=batch_size,
    lr=learning_rate,
    seed=ctx.seed,
    device=ctx.device,
    amp="auto" if amp else "off",
    progress=not ctx.smoke,
)
prompt_model = ensure_prompt_clip(ctx.output_dir, pairs, prompts, clip_config)

# %%
import pandas as pd
from medmod_lib.pretrain.linked import pretrain_dir

log = pd.read_csv(pretrain_dir(ctx.output_dir, "prompt-clip", ctx.seed) / "log.csv")
train = log[log["split"] == "train"].set_index("epoch")[["loss", "temperature"]]
val = log[log["split"] == "val"].set_index("epoch")
val = val[[c for c in ("val_loss", "val_auroc") if c in val and val[c].notna().any()]]
print(train.join(val).round(3).to_string())

# %% [markdown]
# ## 4. Sanity check: retrieve each test X-ray's prompt
# If pretraining paired the modalities at all, an X-ray should rank its own
# stay's prompt above most others; recall@k far above chance (k / number of
# distinct prompts) says the encoder learned something the prompts describe.

# %%
from medmod_lib.prompts import embed_pairs, nearest_prompts, recall_at_k
from medmod_lib.prompts.plots import plot_retrieval

test_pairs = embed_pairs(prompt_model, prompts.loader("test", batch_size=batch_size))
ks = [k for k in (1, 5, 10) if k <= len(set(test_pairs.prompts))]
retrieval = recall_at_k(test_pairs, ks=ks)
print(retrieval.round(3).to_string(index=False))
plot_retrieval(retrieval)

# %% tags=["patient-level"]
print("X-ray of stay", int(test_pairs.stay_id[0]), "- nearest prompts:")
for _, row in nearest_prompts(test_pairs, 0, k=3).iterrows():
    print(
        f"  {row['rank']}. {row['score']:+.3f} {'(own) ' if row['own'] else ''}{row['prompt'][:110]}"
    )

# %% [markdown]
# ## 5. The comparison: EHR-time-series ALIGN and X-ray-only SimCLR
# ALIGN pairs the same X-rays with the stay's hourly time series instead of text
# (notebook 02's checkpoint is reused when this run has one); SimCLR pairs two
# augmented views of the X-ray alone, so it shows what the clinical pairing adds;
# an untrained ResNet (`random-init`) is the floor every method must beat.

# %%
from medmod_lib.devices import seed_everything
from medmod_lib.encoders import ResNetEncoder
from medmod_lib.pretrain import PretrainConfig
from medmod_lib.pretrain.linked import (
    SETTINGS_FILE,
    ensure_pretrained,
    load_pretrained,
    read_settings,
)
from medmod_lib.prompts.compare import ensure_simclr_xray

common = dict(
    epochs=epochs,
    batch_size=batch_size,
    lr=learning_rate,
    cxr_arch=cxr_arch,
    seed=ctx.seed,
    device=ctx.device,
    amp="auto" if amp else "off",
    progress=not ctx.smoke,
)
align_dir = pretrain_dir(ctx.output_dir, "align", ctx.seed)
if (align_dir / SETTINGS_FILE).is_file() and read_settings(align_dir).get("finished"):
    print("align: reusing", align_dir)
    align_path = align_dir / "best.pt"
else:
    align_path = ensure_pretrained(
        ctx.output_dir,
        "align",
        PretrainConfig(method="align", ehr_hidden_dim=ehr_hidden_dim, **common),
        data_root=ctx.data_root,
        seed=ctx.seed,
        pairs=pair_settings,
    )
align_model = load_pretrained(align_path)
simclr_model = ensure_simclr_xray(ctx.output_dir, pairs, PretrainConfig(method="simclr", **common))
seed_everything(ctx.seed)  # the reference: the same ResNet, never trained
encoders = {
    "prompt-clip": prompt_model.cxr_encoder,
    "align": align_model.cxr_encoder,
    "simclr-xray": simclr_model.cxr_encoder,
    "random-init": ResNetEncoder(cxr_arch, in_channels=1, weights=None),
}
for name, enc in encoders.items():
    print(f"{name:12s} {type(enc).__name__} ({sum(p.numel() for p in enc.parameters()):,} weights)")

# %% [markdown]
# ## 6. Linear evaluation on in-hospital mortality and radiology
# The protocol of notebook 03: each frozen X-ray encoder gets one linear layer,
# trained on the task's training split and selected on validation; test metrics
# carry bootstrap 95% intervals. Mortality is scored on its paired stays,
# radiology on every labelled X-ray (14 CheXpert findings, macro AUROC).

# %%
from medmod_lib.evaluation.protocols import MONITOR, ProtocolConfig, compare_results, linear_eval
from medmod_lib.reference import Task

protocol = ProtocolConfig(
    epochs=probe_epochs,
    batch_size=batch_size,
    lr=1e-2,
    patience=None,
    device=ctx.device,
    seed=ctx.seed,
    n_boot=bootstrap,
    progress=False,
)
evaluated = {}
for task in eval_tasks:
    mode = "radiology" if Task.parse(task) == Task.RADIOLOGY else "paired"
    data = workflow.task_datasets(
        linked,
        ehr if mode != "radiology" else None,
        cache,
        task=task,
        mode=mode,
        image_size=image_size,
        max_samples=max_samples,
        seed=ctx.seed,
    )
    for method, encoder in encoders.items():
        evaluated[task, method] = linear_eval(
            data,
            ehr_encoder=None,
            cxr_encoder=encoder,
            modality="cxr",
            method=method,
            config=protocol,
        )
results = pd.concat([r.rows for r in evaluated.values()], ignore_index=True)
metrics = {t: MONITOR[Task.parse(t)] for t in eval_tasks}
headline = results[results["task"].map(metrics) == results["metric"]]
print(
    headline[["task", "method", "metric", "value", "ci_low", "ci_high", "n"]]
    .round(3)
    .to_string(index=False)
)
ctx.save_results(results, tag="")

# %%
from medmod_lib.prompts.plots import plot_method_comparison

plot_method_comparison(results, metrics, order=list(encoders))

# %% [markdown]
# Separate intervals hide that all methods are scored on the same test X-rays; a
# paired bootstrap of the difference (`prompt-clip` minus each other method, same
# resamples for both) is the fairer test.

# %%
diffs = pd.DataFrame(
    [
        {
            "task": task,
            "vs": other,
            "metric": d.metric,
            "diff": d.diff,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "p": d.p_value,
            "n": d.n,
        }
        for task in eval_tasks
        for other in encoders
        if other != "prompt-clip"
        for d in [
            compare_results(
                evaluated[task, "prompt-clip"],
                evaluated[task, other],
                n_boot=bootstrap,
                seed=ctx.seed,
            )
        ]
    ]
)
print(diffs.round(3).to_string(index=False))

# %% [markdown]
# ## Takeaways
# The summary below is computed from this run's numbers.
# - Retrieval above chance means the X-ray encoder learned features that the
#   prompts' clinical statements describe; at chance, the pairing taught nothing.
# - A paired difference whose interval contains 0 means this test set cannot tell
#   the two methods apart: use more patients (real MIMIC) or more seeds first.
# - Try `text_encoder="hashing"` (no pretrained language model), `history=True`,
#   or the `gpu` profile's benchmark settings.

# %%
r1 = retrieval.iloc[0]
print(
    f"Retrieval: recall@{int(r1['k'])} = {r1['recall']:.2f} vs chance {r1['chance']:.2f} "
    f"({int(r1['n'])} test X-rays)."
)
for task in eval_tasks:
    row = headline[(headline["task"] == task) & (headline["method"] == "prompt-clip")].iloc[0]
    y = evaluated[task, "prompt-clip"].predictions.y_true
    rare = int(min(y.sum(axis=0).min(), (1 - y).sum(axis=0).min()))  # rarest class of any label
    print(
        f"{task}: prompt-clip {row['metric']} {row['value']:.3f} "
        f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] on {int(row['n'])} test samples"
        + (f"; only {rare} in the rarest class: too few to rank methods." if rare < 10 else ".")
    )
    for _, d in diffs[diffs["task"] == task].iterrows():
        verdict = (
            "better" if d["ci_low"] > 0 else "worse" if d["ci_high"] < 0 else "not distinguishable"
        )
        print(
            f"  vs {d['vs']}: {d['diff']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] -> {verdict}"
        )

# %% [markdown]
# ## Exercises
# Predict first, then open the answer; the answer cells read this run's objects
# (`test_pairs`, `retrieval`, `log`, `prompts`, `evaluated`) and train nothing.

# %% [markdown]
# ### Exercise 1: What is chance for retrieval?
# Section 4 puts recall@k next to a chance level. Before looking, work out the chance
# recall@5 of this test set: how many candidates does each X-ray's own prompt compete
# with? Why can two stays share one prompt, and how does the kit count that? Compute
# it from `test_pairs`.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Each X-ray is ranked against the M *distinct* canonical prompts of the test split;
# if the encoder learned nothing its own prompt lands at a uniformly random rank, so
# recall@k is about k / M. Two stays produce the same text when they state the same
# facts (age group, sex, admission type and the same last values, e.g. when little
# was charted in the window); identical prompts count once
# (`medmod_lib/prompts/retrieval.py`), so a shared prompt neither helps nor hurts.
# The cell recomputes M, the chance levels, and how many test X-rays share their
# prompt with another stay.
#
# </details>

# %% tags=["exercise-answer"]
canonical = pd.Series(test_pairs.prompts)
distinct = canonical.nunique()
print(f"{len(canonical)} test X-rays, {distinct} distinct prompts")
print(f"{int(canonical.duplicated(keep=False).sum())} X-rays share their prompt with another stay")
for k in ks:
    row = retrieval[retrieval["k"] == k].iloc[0]
    print(
        f"  recall@{k}: chance min(k, M) / M = {min(k, distinct) / distinct:.3f} "
        f"(table: {row['chance']:.3f}), this run {row['recall']:.3f}"
    )

# %% [markdown]
# ### Exercise 2: How much training did prompt-clip get?
# Count the optimisation steps of this run's `prompt-clip` pretraining (epochs times
# batches per epoch) before you look at the log. Is that enough to expect retrieval
# above chance, and an encoder better than the untrained ResNet?

# %% [markdown]
# <details><summary>Answer</summary>
#
# Steps = epochs x floor(training pairs / batch size): the training loader drops the
# last, incomplete batch (a contrastive batch needs its full set of negatives), so a
# few epochs on a few hundred paired stays give a few dozen steps. Contrastive
# image-text models are trained for many thousands of steps; after a few dozen the
# ResNet has barely moved from its random start. The planted link between a prompt
# and a film is also indirect: the prompts state vitals, labs and GCS, which carry
# the shared factor and only weakly the lung and cardiac state drawn on the film
# (`VITALS` and `FINDINGS` in `medmod_lib/synthetic/signal.py`). So after a few
# dozen steps, retrieval near chance and `prompt-clip` not distinguishable from
# `random-init` are the expected null result of a short run, not a bug; more epochs
# (the `gpu` profile) or more patients are the remedy. The cell counts the steps
# from the training log and puts recall next to chance.
#
# </details>

# %% tags=["exercise-answer"]
n_train = len(prompts.train.table)
steps = int(log.loc[log["split"] == "train", "step"].max())
per_epoch = n_train // batch_size if n_train > batch_size else 1  # last batch dropped
print(
    f"{n_train} training pairs, batch {batch_size}: {per_epoch} step(s) per epoch x {epochs} "
    f"epoch(s) = {per_epoch * epochs}; the log's last step: {steps}"
)
r1 = retrieval.iloc[0]
print(
    f"recall@{int(r1['k'])} {r1['recall']:.3f} vs chance {r1['chance']:.3f} "
    f"({r1['recall'] / r1['chance']:.1f} x chance)"
)

# %% [markdown]
# ### Exercise 3: Does any pretrained encoder beat the untrained one?
# The last table gives `prompt-clip` minus each other method, with a paired bootstrap
# interval. Predict, from exercise 2, the verdict against `random-init` on each task;
# then list every method's difference to `random-init` (computed the same way).

# %% [markdown]
# <details><summary>Answer</summary>
#
# If pretraining took only a few dozen steps, expect the intervals against
# `random-init` to contain 0 (not distinguishable) or even to favour the untrained
# ResNet, whose random features a linear probe can use as well as barely trained
# ones. A difference that is distinguishable on a small test set with a handful of
# positives would deserve suspicion too. The cell runs the paired bootstrap of each
# pretrained method against `random-init` from the stored test predictions (no
# training).
#
# </details>

# %% tags=["exercise-answer"]
for task in eval_tasks:
    for method in [m for m in encoders if m != "random-init"]:
        d = compare_results(
            evaluated[task, method], evaluated[task, "random-init"], n_boot=bootstrap, seed=ctx.seed
        )
        verdict = "better" if d.ci_low > 0 else "worse" if d.ci_high < 0 else "not distinguishable"
        print(
            f"{task}: {method:12s} - random-init = {d.diff:+.3f} {d.metric} "
            f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}] -> {verdict}"
        )
