# %% [markdown]
# # 06 Clinical prompts: X-rays paired with the stay's EHR written as text
# MEDIMP (Milecki et al., "MEDIMP: 3D Medical Images with clinical Prompts from limited
# tabular data for renal transplantation", ISBI 2023, arXiv 2303.12445) turned structured
# clinical data into text prompts, pretrained an image encoder contrastively against
# them, and found the image features more useful than other representations when few
# labels are available. This notebook does that on MIMIC: it writes a prompt for every
# AP film taken during a training stay from what the EHR knew *at the film's time*
# (demographics, vitals and labs, GCS, the airway), pretrains the X-ray encoder
# against the prompts with the CLIP loss (`prompt-clip`), checks it by prompt -> X-ray
# retrieval against chance, and compares linear probes on its features with a random
# encoder, X-ray-only SimCLR and notebook 02's cross-modal encoders at 10 %, 25 % and
# 100 % of the training labels, on in-hospital mortality and radiology. An ablation
# (`ablation = True`, on in the `gpu` profile) trains the same model without the
# prompt augmentations. It writes checkpoints
# under `output_dir/pretrain/`, a tidy results table and the run's claims.

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - turn a stay's structured EHR into clinical text prompts that use only what is
#   known at the film's time, and augment them without a language model;
# - pretrain an X-ray encoder against text with the CLIP loss, read its loss against
#   the chance level log(B) and its learnable temperature, and check it by
#   prompt -> X-ray retrieval with an interval next to chance;
# - compare image encoders (prompt-clip, its no-augmentation ablation, notebook 02's
#   ALIGN / VICReg, X-ray-only SimCLR, an untrained ResNet) with linear probes at
#   several label budgets, using paired bootstrap differences;
# - say what a result does and does not show, including when a comparison is not
#   resolved.
#
# **Prerequisites.** `02_pretraining` (contrastive and CLIP losses, ALIGN, VICReg; its
# checkpoints are reused) and `03_linear_eval` (linear probes, paired bootstrap of a
# difference); sentence embeddings at the level of "a frozen model maps text to a
# vector".
#
# **Time.** About 4 min to run on 2 CPU cores in the default `cpu` profile (embedding
# the prompts, one prompt-clip run, one SimCLR run, probes on four encoders at three
# label budgets; `ablation = True` adds a minute); about 25 minutes to read, plus the
# exercises.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # auto | cpu | cuda | cuda:N | mps; never assume CUDA
smoke = False  # True: tiny settings, seconds per notebook (tests)
epochs = 8  # prompt-clip epochs over every training film (MedMod ALIGN: 300)
batch_size = 32  # pretraining and probe batch (MedMod: 256)
learning_rate = 1e-3  # AdamW peak rate of the pretraining runs
temperature = 0.07  # initial CLIP temperature (learnable; CLIP and MedMod start at 0.07)
temperature_lr_scale = 20.0  # the temperature's learning rate, in multiples of learning_rate
image_size = 64  # X-ray side in pixels (benchmark: 224)
train_preset = "benchmark"  # augmentation of the pretraining films: benchmark (mild) | simclr
max_samples = None  # cap per split (smoke runs); None: every film
cxr_arch = "resnet18"  # image encoder of every method (MedMod: resnet34)
max_bins = 48  # hours of EHR input per stay, as notebook 02 (mortality: the first 48 h)
text_encoder = "minilm"  # minilm: frozen all-MiniLM-L6-v2 + trained head; hashing: from scratch
n_variants = 3  # texts per training film: the canonical prompt + augmentations
statement_dropout = (
    0.0  # share of statements an augmented prompt drops (0.2 drops the airway too often)
)
ablation = False  # also train prompt-clip without prompt augmentation (+1 min; gpu profile: on)
simclr_epochs = 4  # X-ray-only SimCLR: 2 views a film, as many image passes as prompt-clip
history = False  # also state diagnoses of the subject's earlier admissions
pretrain_task = "in-hospital-mortality"  # cohort whose training stays give the films
tasks = ["in-hospital-mortality", "radiology"]  # linear-evaluation tasks
label_fractions = [0.1, 0.25, 1.0]  # shares of the training labels the probes see
retrieval_pool = 50  # candidates per prompt in the retrieval check (chance: k / pool)
probe_epochs = 15  # epochs of each linear probe (MedMod: 100)
bootstrap = 1000  # bootstrap resamples of every confidence interval (as in 03 and 04)
amp = False  # mixed precision (CUDA only)
num_workers = 0  # data-loader workers

# %%
from medmod_lib import notebook, viz

ctx = notebook.setup(
    name="06_clinical_prompts",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)
viz.use_style()

# %% [markdown]
# ## 1. Every film of a training stay, with the EHR up to it
# Pretraining needs no labels, so it can use every AP film taken during any stay of
# the training split (not just the one film per stay a task keeps): each is paired
# with its stay's EHR *up to the film's study time*, never later. Validation and
# test patients are never seen, so the probes' held-out stays stay unseen.

# %%
from medmod_lib import workflow
from medmod_lib.linking.rules import LinkingRule
from medmod_lib.pretrain.linked import PairData, linked_pairs

ehr, linked, cache = workflow.prepare_study(
    ctx.data_root, ctx.output_dir, progress=not ctx.smoke
)
pair_settings = PairData(
    task=pretrain_task,
    image_size=image_size,
    max_bins=max_bins,
    max_samples=max_samples,
    sample_seed=ctx.seed,
    train_pairs="stay_images",
    train_preset=train_preset,
)
pairs = linked_pairs(linked, ehr, cache, pair_settings)
# A film's prompt window closes at the film: the stay's window (to outtime) cut at each
# sample's EHR window, which for these pairs is the film's time.
prompt_rule = LinkingRule.for_task("radiology", choice="all")
print(pairs)
films = pairs.train.dataset.samples.iloc[list(pairs.train.indices)]
print(
    f"pretraining: {len(films)} films of {films['stay_id'].nunique()} training stays; "
    f"the {pretrain_task} cohort keeps one film per stay ({pairs.counts['train'].paired} "
    "training stays)"
)

# %% [markdown]
# ## 2. Prompts and their augmentations
# A prompt states age group, sex, admission type, the median of each vital and lab
# charted inside the window with clinical flag words for its extremes ("tachycardic",
# "hypoxic"), the worst GCS, and whether the patient was intubated (the verbal GCS is
# charted "No Response-ETT"). It never reads an event after the window end (tests
# check this for every task). Training draws one of several seeded variants per step
# (paraphrases, shuffled sentences, rounded numbers and °F), MEDIMP's textual
# augmentation without a language model. Dropping statements is off by default
# (`statement_dropout`): a variant without the airway statement no longer says what
# the film shows most plainly, and on this budget it slowed learning. On real MIMIC data a
# prompt is patient-level text under the PhysioNet data use agreement: never paste it
# into an online service (chatbots, translation, hosted language models); the kit's
# text encoders run offline.

# %% tags=["patient-level"]
from medmod_lib.prompts import PromptAugmenter, prompt_datasets

prompt_cache = ctx.output_dir / "prompt_cache" if text_encoder == "minilm" else None


def make_prompts(variants: int):
    return prompt_datasets(
        pairs,
        ehr,
        rule=prompt_rule,
        cache_dir=prompt_cache,
        n_variants=variants,
        augmenter=PromptAugmenter(dropout=statement_dropout),
        seed=ctx.seed,
        history_root=ctx.data_root if history else None,
        device=ctx.device,
        progress=not ctx.smoke,
    )


prompts = make_prompts(n_variants)
example = prompts.train.table
print(
    f"stay {example.samples['stay_id'].iloc[0]}, film at {example.samples['window_hours'].iloc[0]:.0f} h"
)
for k, text in enumerate(example.variants[0]):
    print(f"[{'canonical' if k == 0 else f'variant {k}'}] {text}")

# %%
# NBVAL_CHECK_OUTPUT
for split in ("train", "val", "test"):
    table = getattr(prompts, split).table
    print(
        f"{split:5s}: {len(table):4d} pairs, {table.samples['prompt'].nunique():4d} distinct "
        f"prompts, {table.n_variants} text{'s' * (table.n_variants > 1)} each"
    )

# %%
if prompts.cache is not None:
    print(f"embedding cache: {prompts.cache.hits} texts reused, {prompts.cache.misses} encoded")

# %% [markdown]
# ## 3. Image-text pretraining (`prompt-clip`)
# The method, in four lines: a batch of B films and their prompts; the X-ray encoder
# and a projection head map each film to a unit vector, a small head on the frozen
# sentence embedding maps each prompt to one; the B x B cosine similarities divided by
# the temperature are the logits; the loss is the cross-entropy of picking each film's
# own prompt among the B, and each prompt's own film, averaged (the CLIP loss; written
# out on toy tensors in notebook 02). An encoder that learned nothing scores log(B);
# the temperature is learned with everything else.
#
# Three choices make this run learn on a laptop budget: every training film is a pair
# (section 1); the films get the mild `benchmark` augmentation (the strong `simclr`
# crops of notebook 02 can cut the ET tube out of a 64 px film, and the tube is the
# clearest thing a prompt and its film share; exercise 3 lets you try); and the
# temperature gets its own, larger learning rate (`temperature_lr_scale`). Under Adam
# every parameter moves about one learning rate per step, so in a couple of hundred
# steps one scalar among eleven million weights would barely leave 0.07; with 20 times
# the rate it can find the sharpness this run's similarities support (the cell
# below prints where it went).
# The text encoder stays frozen, as a small trained head on top of it is all the
# text side needs here: the prompts are templated sentences about a few dozen facts,
# and a frozen MiniLM keeps the run offline and cheap (each prompt is embedded once,
# in bfloat16 on CPUs that support it, and cached).

# %%
from medmod_lib.prompts import PromptCLIPConfig
from medmod_lib.prompts.compare import ensure_prompt_clip

clip_config = PromptCLIPConfig(
    text_encoder=text_encoder,
    cxr_arch=cxr_arch,
    epochs=epochs,
    batch_size=batch_size,
    lr=learning_rate,
    temperature=temperature,
    temperature_lr_scale=temperature_lr_scale,
    seed=ctx.seed,
    device=ctx.device,
    amp="auto" if amp else "off",
    monitor=None,  # keep the last epoch: the labels are for the probes, not for pretraining
    progress=not ctx.smoke,
)
prompt_model = ensure_prompt_clip(ctx.output_dir, pairs, prompts, clip_config)

# %%
import numpy as np
import pandas as pd
from medmod_lib.pretrain.runs import pretrain_dir
from medmod_lib.prompts.plots import plot_training_curves

log = pd.read_csv(pretrain_dir(ctx.output_dir, "prompt-clip", ctx.seed) / "log.csv")
fig = plot_training_curves(log, batch_size=batch_size)
per_epoch = log[log["split"] == "train"].set_index("epoch")[["loss", "temperature"]]
val = log[log["split"] == "val"].set_index("epoch")[["val_loss"]]
print(per_epoch.join(val).round(3).to_string())
chance_loss = float(np.log(batch_size))
last, first = per_epoch["loss"].iloc[-1], per_epoch["loss"].iloc[0]
print(
    f"training loss {first:.3f} -> {last:.3f} (chance log({batch_size}) = {chance_loss:.3f}); "
    f"temperature {temperature:.3f} -> {per_epoch['temperature'].iloc[-1]:.3f}"
)

# %% [markdown]
# ## 4. Sanity check: find each prompt's film
# If pretraining paired the modalities at all, a test prompt ranks its own film higher
# than chance would. Each test prompt ranks the films of a random pool of at least
# `retrieval_pool` test pairs (its own among them; the last pool takes the remainder),
# so chance is about k / pool whatever the size of the test set (the table prints the
# exact value); the interval is a 95 % Wilson interval over prompts. Recall above
# chance means the interval's lower end lies above it (`above_chance`).

# %%
from medmod_lib.prompts import embed_pairs, recall_at_k
from medmod_lib.prompts.plots import plot_retrieval
from medmod_lib.prompts.retrieval import retrieval_results

test_pairs = embed_pairs(prompt_model, prompts.loader("test", batch_size=batch_size))
pool = min(retrieval_pool, len(test_pairs))
ks = [k for k in (1, 5, 10) if k < pool]
retrieval = recall_at_k(test_pairs, ks=ks, direction="text->image", pool_size=pool, seed=ctx.seed)
print(retrieval.round(4).to_string(index=False))
fig = plot_retrieval(retrieval)
retrieval_rows = retrieval_results(retrieval, task=pretrain_task, seed=ctx.seed)

# %% [markdown]
# ## 5. The comparison: a random encoder, X-ray-only SimCLR, notebook 02's ALIGN and VICReg
# The untrained ResNet (`random-init`) is the floor: the same linear probe on random
# convolutional features, which can find a good deal on a film when labels are
# plentiful (section 6's table shows how much at each label budget). X-ray-only
# SimCLR pairs two augmented views of the same film, so it shows what the *clinical*
# pairing adds (trained here with as many image passes as prompt-clip). ALIGN and
# VICReg pair the films with the stay's hourly time series instead of text: notebook
# 02's checkpoints for this seed, reused when they exist and never retrained here (02
# trains VICReg by default; run it with `method = "align"` to add ALIGN).
# `prompt-clip-noaug` is the ablation (`ablation = True`): the same model trained on
# the canonical prompt only.

# %%
from dataclasses import replace

from medmod_lib.devices import seed_everything
from medmod_lib.encoders import ResNetEncoder
from medmod_lib.pretrain import PretrainConfig
from medmod_lib.pretrain.runs import SETTINGS_FILE, load_pretrained, read_settings
from medmod_lib.prompts.compare import ensure_simclr_xray

common = dict(
    batch_size=batch_size,
    lr=learning_rate,
    cxr_arch=cxr_arch,
    seed=ctx.seed,
    device=ctx.device,
    amp="auto" if amp else "off",
    progress=not ctx.smoke,
)
encoders = {"prompt-clip": prompt_model.cxr_encoder}
if ablation:
    plain_prompts = make_prompts(1)  # the canonical prompts only, already embedded
    encoders["prompt-clip-noaug"] = ensure_prompt_clip(
        ctx.output_dir, pairs, plain_prompts, clip_config, name="prompt-clip-noaug"
    ).cxr_encoder


def from_notebook_02(method: str):
    folder = pretrain_dir(ctx.output_dir, method, ctx.seed)
    if (folder / SETTINGS_FILE).is_file() and read_settings(folder).get("finished"):
        print(f"{method}: reusing notebook 02's checkpoint {folder}")
        return load_pretrained(folder / "best.pt").cxr_encoder
    return None


for method in ("align", "vicreg"):  # notebook 02's cross-modal encoders, never retrained here
    encoder = from_notebook_02(method)
    if encoder is not None:
        encoders[method] = encoder
    else:
        print(f"{method}: no checkpoint of notebook 02 for this seed; left out (run 02 with it)")
simclr_pairs = linked_pairs(linked, ehr, cache, replace(pair_settings, train_preset="simclr"))
encoders["simclr-xray"] = ensure_simclr_xray(
    ctx.output_dir,
    simclr_pairs,
    PretrainConfig(method="simclr", epochs=simclr_epochs, monitor=None, **common),
).cxr_encoder
seed_everything(ctx.seed)  # the reference: the same ResNet, never trained
encoders["random-init"] = ResNetEncoder(cxr_arch, in_channels=1, weights=None)
for name, enc in encoders.items():
    print(f"{name:17s} {type(enc).__name__} ({sum(p.numel() for p in enc.parameters()):,} weights)")

# %% [markdown]
# ## 6. Linear probes at 10 %, 25 % and 100 % of the training labels
# The protocol of notebook 03, once per label budget: each frozen X-ray encoder runs
# once over the task's splits; a linear layer is fitted on a seeded random share of
# the training rows (the smaller share is part of the larger), selected on the whole
# validation split and scored on the whole test split with bootstrap 95 % intervals.
# Both tasks are scored on the ICU films linked to a stay (in-hospital mortality: the
# latest AP film of the first 48 h; radiology: the latest AP film of the stay, 14
# CheXpert findings, macro AUROC), the films pretraining is about.

# %%
from medmod_lib.evaluation.protocols import (
    ProtocolConfig,
    compare_results,
    label_protocol,
    linear_eval_fractions,
)
from medmod_lib.prompts.plots import plot_label_efficiency
from medmod_lib.tasks import task_spec

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
fractions = sorted({float(f) for f in label_fractions} | {1.0})
evaluated = {}
for task in tasks:
    data = workflow.task_datasets(
        linked,
        ehr,
        cache,
        task=task,
        mode="paired",
        image_size=image_size,
        max_samples=max_samples,
        seed=ctx.seed,
    )
    for method, encoder in encoders.items():
        runs = linear_eval_fractions(
            data,
            ehr_encoder=None,
            cxr_encoder=encoder,
            modality="cxr",
            method=method,
            fractions=tuple(fractions),
            config=protocol,
        )
        for fraction, result in runs.items():
            evaluated[task, method, fraction] = result
results = pd.concat([r.rows for r in evaluated.values()], ignore_index=True)
ctx.save_results(pd.concat([results, retrieval_rows], ignore_index=True), tag="")
metrics = {t: task_spec(t).monitor for t in tasks}
headline = results[results["task"].map(metrics) == results["metric"]].copy()
share = {label_protocol(f): f for f in fractions}
headline["label_fraction"] = headline["protocol"].map(share)
print(
    headline.pivot_table(index=["task", "method"], columns="label_fraction", values="value")
    .round(3)
    .to_string()
)
fig = plot_label_efficiency(headline, metrics, order=list(encoders))

# %% [markdown]
# Separate intervals hide that every encoder is scored on the same test films; the
# paired bootstrap of the difference (`prompt-clip` minus each other encoder, same
# resamples for both) is the fairer test. The two claims of this notebook, checked on
# every run, are MEDIMP's: with limited labels (the smallest share, 10 % by default)
# the probe on prompt-pretrained features beats the same probe on the random encoder.

# %%
from medmod_lib.evaluation import claims

diffs = pd.DataFrame(
    [
        {
            "task": task,
            "labels": f"{fraction:.0%}",
            "vs": other,
            "diff": d.diff,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "verdict": claims.verdict(d.ci_low, d.ci_high),
            "n": d.n,
        }
        for task in tasks
        for fraction in fractions
        for other in encoders
        if other != "prompt-clip"
        for d in [
            compare_results(
                evaluated[task, "prompt-clip", fraction],
                evaluated[task, other, fraction],
                n_boot=bootstrap,
                seed=ctx.seed,
            )
        ]
    ]
)
print(diffs.round(3).to_string(index=False))
limited = fractions[0]  # MEDIMP's claim is about limited labels: the smallest share
claim_rows = [
    claims.check_claim(
        claim,
        evaluated[claim.task, "prompt-clip", limited],
        evaluated[claim.task, "random-init", limited],
        test_set="paired",
        seed=ctx.seed,
        a_name=f"prompt-clip, {limited:.0%} of labels",
        b_name=f"random-init, {limited:.0%} of labels",
        n_boot=bootstrap,
    )
    for claim in claims.PROMPT_CLAIMS
    if claim.task in tasks
]
claim_table = claims.claims_frame(claim_rows)
ctx.save_claims(claim_table)
claims.print_verdicts(claim_table)

# %% [markdown]
# ## Takeaways
# Computed from this run's numbers:

# %%
steps = int(log.loc[log["split"] == "train_step", "step"].max())
print(
    f"- Pretraining: {steps} optimizer steps; training loss {first:.3f} -> {last:.3f} "
    + ("(below" if last < chance_loss else "(not below")
    + f" chance {chance_loss:.3f}); temperature {temperature:.3f} -> "
    f"{per_epoch['temperature'].iloc[-1]:.3f}."
)
r5 = retrieval[retrieval["k"] == 5].iloc[0] if (retrieval["k"] == 5).any() else retrieval.iloc[0]
print(
    f"- Retrieval: recall@{int(r5['k'])} {r5['recall']:.3f} [{r5['ci_low']:.3f}, "
    f"{r5['ci_high']:.3f}] vs chance {r5['chance']:.3f}: "
    + (
        "the prompts pick out their films above chance, so the encoder learned something "
        "the prompts state."
        if r5["above_chance"]
        else "not distinguishable from chance: this run's encoder does not match prompts to films."
    )
)
for _, d in diffs[diffs["vs"].isin(["random-init", "prompt-clip-noaug", "simclr-xray"])].iterrows():
    words = {
        "held": "better",
        "reversed": "worse",
        "not resolved": "not distinguishable on this test set",
    }[d["verdict"]]
    print(
        f"- {d['task']}, {d['labels']} of the labels: prompt-clip - {d['vs']} = "
        f"{d['diff']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] -> {words}"
    )

# %% [markdown]
# ## Exercises
# Predict first, then open the answer; the answer cells read this run's objects
# (`test_pairs`, `retrieval`, `log`, `prompts`, `headline`, `diffs`) and train nothing.

# %% [markdown]
# ### Exercise 1: What is chance for retrieval, and why pools?
# Section 4 puts recall@k next to a chance level. Before looking, work out the chance
# recall@5 when each prompt ranks the films of a pool of 50. What would it be if each
# prompt ranked every test film instead, and why would the same encoder then look
# much worse? Compute both from `test_pairs`.

# %% [markdown]
# <details><summary>Answer</summary>
#
# In a pool of M films an encoder that learned nothing puts the own film at a uniformly
# random rank, so recall@k is k / M: 5 / 50 = 0.10 for a pool of 50 (a little less
# when the last pool also takes the remainder: the printed chance is exact).
# Against all N test films it is 5 / N. What a prompt can say about its film is coarse
# (intubated or not, roughly how sick the lungs and the patient are), so it narrows
# the candidates to a group, and a group of a third of the test films is far more
# than 5: over the whole test set the recall stays low in absolute terms even when it
# is well above its chance level, and on a small test set its interval can be hard to
# separate from chance. A fixed pool size makes the check's power independent of
# the test set's size; the verdict is still "above chance or not", not a score to
# compare with published recall. The cell recomputes both.
#
# </details>

# %% tags=["exercise-answer"]
whole = recall_at_k(test_pairs, ks=[5], direction="text->image")
row = retrieval[retrieval["k"] == 5].iloc[0] if (retrieval["k"] == 5).any() else retrieval.iloc[0]
print(
    f"pools of {row['candidates']:.0f}: recall@{int(row['k'])} {row['recall']:.3f}, "
    f"chance {row['chance']:.3f}"
)
print(
    f"all {len(test_pairs)} test films: recall@5 {whole['recall'].item():.4f} "
    f"[{whole['ci_low'].item():.4f}, {whole['ci_high'].item():.4f}], chance {whole['chance'].item():.4f}"
)

# %% [markdown]
# ### Exercise 2: How much training did prompt-clip get, and did it learn?
# Count the optimisation steps of this run's `prompt-clip` pretraining (epochs times
# batches per epoch) before you look at the log. Then read the loss curve: where is
# chance, and did the validation loss follow the training loss down?

# %% [markdown]
# <details><summary>Answer</summary>
#
# Steps = epochs x floor(training films / batch size): the training loader drops the
# last, incomplete batch (a contrastive batch needs its full set of negatives). With
# B films a batch, an encoder that learned nothing scores the CLIP loss at log(B)
# (3.47 for B = 32); the training loss falling below it says the two sides found
# something they share. If the validation loss (the mortality cohort's validation
# films, never trained on) falls too, it is not memorisation of the training pairs;
# it is measured on a few batches of films, so it jumps from epoch to epoch: read
# its first and last values (the cell prints them) and the trend, not one epoch. Compare with a one-film-per-stay run: section 1 prints how many films the
# training stays give against the cohort's one film per stay, and the steps grow by
# the same factor. The cell counts the steps.
#
# </details>

# %% tags=["exercise-answer"]
n_train = len(prompts.train.table)
per_epoch_steps = n_train // batch_size if n_train > batch_size else 1  # last batch dropped
print(
    f"{n_train} training films, batch {batch_size}: {per_epoch_steps} steps per epoch x "
    f"{epochs} epochs = {per_epoch_steps * epochs}; the log's last step: {steps}"
)
vals = log[log["split"] == "val"]["val_loss"].dropna()
if len(vals):
    print(f"validation loss {vals.iloc[0]:.3f} -> {vals.iloc[-1]:.3f} (chance {chance_loss:.3f})")

# %% [markdown]
# ### Exercise 3: Where do labels matter most?
# MEDIMP's argument is about *limited* labels. Predict: is prompt-clip's lead over the
# random encoder larger at 10 % or at 100 % of the training labels, and on which
# task? Then list the difference at each budget. For the strong-augmentation
# question of section 3, rerun the notebook with `train_preset="simclr"` (a few
# minutes) and compare the retrieval and the verdicts.

# %% [markdown]
# <details><summary>Answer</summary>
#
# With few labels a linear probe has to find the finding in 512 random features from
# a few dozen films and overfits; features already organised around what the
# prompts describe (the tube, the lung and shared state) need fewer examples, so
# expect the lead of a pretrained encoder to grow as labels shrink, but so does the
# noise, because the probe itself varies more. The cell lists the lead at each budget;
# the intervals say which differences this test set resolves. With
# `train_preset="simclr"` the crops and rotations can remove or distort the ET tube
# on a 64 px film, which weakens what a prompt and its film share: compare the
# retrieval line and the verdicts of the two runs.
#
# </details>

# %% tags=["exercise-answer"]
print(
    diffs[diffs["vs"] == "random-init"][["task", "labels", "diff", "ci_low", "ci_high", "verdict"]]
    .round(3)
    .to_string(index=False)
)
