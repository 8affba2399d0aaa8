# %% [markdown]
# # 03 Linear evaluation: pretrained encoders against supervised baselines
# How good are the pretrained representations, and does fusion help? This notebook
# probes the encoders of notebook 02 (`method`, read from
# `output_dir/pretrain/<method>/seed<seed>/best.pt`, pretrained here if missing) with
# one linear layer on EHR, X-ray or both features (first by hand, a logistic
# regression on the frozen features, then through the library), fine-tunes them, and
# trains the supervised baselines (EHR only, X-ray only, joint, late and MedFuse
# fusion, in MedFuse's two stages) on the paired cohort of each task in `tasks`. It
# writes one tidy results table with bootstrap 95% confidence intervals, ROC and PR
# curves, the calibration and operating points of the mortality models, a paired
# bootstrap of fusion against the X-ray-only model, the checks of the synthetic data
# card, metrics by sex, age and race (a table and a forest plot), the mortality model's
# most confident errors, a check for the intubation shortcut that both modalities
# carry, and a label-efficiency curve (pretrained against untrained features as the
# labels run short).

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - tell the evaluation protocols apart: a linear probe on frozen encoders (fitted
#   once by hand), fine-tuning, and supervised baselines (EHR-only, X-ray-only, and
#   the fusion designs, with what each computes when the X-ray is missing);
# - read a results table with bootstrap 95% intervals, ROC / precision-recall
#   curves, a reliability diagram and an operating-point table (alerts per 100
#   patients, sensitivity, specificity, PPV);
# - compare two models with a paired bootstrap of their difference on the same test
#   stays, and turn it into a verdict (held, reversed, not resolved);
# - check a run against the planted structure of the synthetic data, and read a
#   label-efficiency curve (what pretraining buys when only 5-50 % of the training
#   stays are labelled, and how much the choice of labelled stays moves it);
# - read per-group metrics and their forest plot (why small groups get wide intervals
#   or no number), read a model's most confident errors, and test for a shortcut by
#   scoring the model within strata of it.
#
# **Prerequisites.** `02_pretraining` (the checkpoint it leaves in `output_dir`, and
# linear probes); `01_linking` (paired cohorts); AUROC, AUPRC and the Brier score;
# sensitivity, specificity and positive predictive value; logistic regression; the
# idea of a bootstrap confidence interval; early stopping on a validation set.
#
# **Time.** About 10 min to run on 2 CPU cores in the default `cpu` profile (mostly
# the supervised baselines and MedFuse's stage-1 X-ray encoder, which later runs
# reuse; it pretrains first if 02's checkpoint is missing); about 30 minutes to read,
# plus the exercises.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # auto | cpu | cuda | cuda:N | mps; never assume CUDA
smoke = False  # True: tiny settings, seconds per notebook (tests)
method = "vicreg"  # pretraining method whose encoders are probed (vicreg | simclr | align)
tasks = ["in-hospital-mortality", "radiology"]  # the gpu profile runs all five tasks
epochs = 10  # max epochs of fine-tuning and baselines (MedFuse 50); early stopping on val
probe_epochs = 30  # max epochs of the linear probes on cached features (MedMod 100)
batch_size = 32  # MedFuse 16, MedMod 256
learning_rate = 1e-3  # AdamW peak lr of fine-tuning and baselines (MedMod fine-tuning 1e-3)
probe_lr = 1e-2  # AdamW peak lr of the probes (MedMod 0.01)
patience = 4  # early-stopping patience of fine-tuning and baselines (MedFuse 15)
probe_patience = 10  # early-stopping patience of the probes (MedMod 30)
finetune = ["ehr+cxr"]  # modalities to fine-tune (ehr | cxr | ehr+cxr); [] skips fine-tuning
stage1_epochs = 20  # MedFuse stage 1: X-ray encoder trained on radiology labels; 0: skip
models = ["ehr_only", "cxr_only", "medfuse"]  # supervised baselines; gpu adds joint and late
image_size = 64  # X-ray side (MedMod 224); a reused checkpoint's own size wins
cxr_arch = "resnet18"  # baselines and a fallback pretraining (MedMod resnet34)
ehr_hidden_dim = 64  # LSTM width of baselines and fallback pretraining (MedMod 128)
max_bins = 48  # hours of EHR input (in-hospital mortality uses the first 48 h anyway)
max_samples = None  # cap on samples per split (smoke runs); None: all
pretrain_epochs = 8  # only if no checkpoint of `method` exists in output_dir
bootstrap = 1000  # bootstrap resamples of every confidence interval (as in 04 and 06)
label_shares = [0.05, 0.1, 0.25, 0.5, 1.0]  # shares of training labels in section 14
label_draws = 5  # seeded subsets per share in section 14
num_workers = 0  # data-loader workers
amp = False  # mixed precision (CUDA only; ignored on CPU)

# %%
from medmod_lib import notebook, viz

ctx = notebook.setup(
    name="03_linear_eval",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)
viz.use_style()

# %% [markdown]
# ## 1. Data: processed EHR, linked cohorts, image cache
# Every model below is trained and tested on the same paired cohort of a task (EHR
# and an X-ray for every sample), so the X-ray-only, EHR-only and fusion models are
# compared on identical test samples; each step is reused from `output_dir`.

# %%
from medmod_lib import workflow
from medmod_lib.reference import Task

ehr, linked, cache = workflow.prepare_study(ctx.data_root, ctx.output_dir)
task_list = [Task.parse(t) for t in tasks]
print(linked)

# %% [markdown]
# ## 2. The pretrained encoders
# Notebook 02 leaves its checkpoint in `output_dir`; when it is missing (this
# notebook run alone) the same pretraining runs here first, with this notebook's
# sizes. Probes must see images at the size the encoders were trained on, so the
# checkpoint's image size is used.

# %%
from medmod_lib.pretrain import PretrainConfig
from medmod_lib.pretrain.linked import PairData
from medmod_lib.pretrain.runs import (
    ensure_pretrained,
    load_pretrained,
    pretrain_dir,
    random_like,
    read_settings,
)

run_dir = pretrain_dir(ctx.output_dir, method, ctx.seed)
if (run_dir / "best.pt").is_file():  # reuse 02's run as it was configured
    checkpoint = ensure_pretrained(ctx.output_dir, method, data_root=ctx.data_root, seed=ctx.seed)
else:
    checkpoint = ensure_pretrained(
        ctx.output_dir,
        method,
        PretrainConfig(
            method=method,
            epochs=pretrain_epochs,
            batch_size=batch_size,
            cxr_arch=cxr_arch,
            ehr_hidden_dim=ehr_hidden_dim,
            seed=ctx.seed,
            device=ctx.device,
            amp="auto" if amp else "off",
        ),
        data_root=ctx.data_root,
        seed=ctx.seed,
        pairs=PairData(
            image_size=image_size, max_bins=max_bins, max_samples=max_samples, sample_seed=ctx.seed
        ),
    )
settings = read_settings(checkpoint)
pretrained = load_pretrained(checkpoint, device="cpu")
untrained = random_like(checkpoint, seed=ctx.seed)  # same architecture, initial weights
probe_image_size = settings["data"]["image_size"]
print(
    f"{method}: {settings['pretrain']['cxr_arch']} + LSTM({settings['pretrain']['ehr_hidden_dim']}), "
    f"epoch {settings.get('best_epoch')} selected by {settings.get('monitor')}, "
    f"images {probe_image_size} px"
)

# %% [markdown]
# ## 3. A linear probe by hand
# Before the library trains every protocol, here is what its linear probe does,
# written out once for in-hospital mortality. The encoders are frozen, so they run
# once per split and their outputs become a fixed table of features
# (`extract_features`, the call the library makes): the EHR encoder's output, the
# X-ray encoder's output and the `paired` flag (1 for every stay of this cohort), as
# in the library's `ehr+cxr` probe. On that table a linear probe is a logistic
# regression: one weight per feature and a bias, $p = \sigma(x \cdot w + b)$, fitted
# by minimising the binary cross-entropy, here plus a small L2 penalty on $w$ chosen
# by validation AUROC. The library fits the same model with AdamW in mini-batches
# and keeps the epoch with the best validation AUROC instead, so the two fits differ
# in detail; section 5 checks whether their test AUROCs agree within the bootstrap
# interval.

# %%
import copy

import numpy as np
import torch
import torch.nn.functional as F
from medmod_lib.evaluation import EncoderClassifier, extract_features
from medmod_lib.metrics import auroc

mortality = Task.IN_HOSPITAL_MORTALITY
datasets = {}  # task -> its paired TaskData; section 5 adds the other tasks
if mortality in task_list:
    data = datasets[mortality] = workflow.task_datasets(
        linked,
        ehr,
        cache,
        task=mortality,
        mode="paired",
        image_size=probe_image_size,
        channels=settings["data"]["channels"],
        max_bins=max_bins,
        max_samples=max_samples,
        seed=ctx.seed,
    )

    def frozen_features(encoders, data, desc):
        """Each split's standardised features (train statistics only) and first label."""
        frozen = EncoderClassifier(  # copies: the library's protocols get the encoders untouched
            ehr_encoder=copy.deepcopy(encoders.ehr_encoder),
            cxr_encoder=copy.deepcopy(encoders.cxr_encoder),
            modality="ehr+cxr",
            num_classes=1,
            freeze_encoders=True,
        )
        x, y = {}, {}
        for split in ("train", "val", "test"):
            loader = torch.utils.data.DataLoader(
                data.eval_view(split), batch_size=batch_size, collate_fn=data.collate
            )
            feats = extract_features(frozen, loader, desc=f"{desc} {split}")
            x[split], y[split] = feats.features, feats.labels[:, 0]
        mean, std = x["train"].mean(0), x["train"].std(0) + 1e-6
        return {split: (v - mean) / std for split, v in x.items()}, y

    x, y = frozen_features(pretrained, data, "features")

    def fit_logistic(x, y, l2, steps=300):
        """w, b minimising mean BCE(sigmoid(x @ w + b), y) + l2 * |w|^2 (full-batch Adam)."""
        w = torch.zeros(x.shape[1], requires_grad=True)
        b = torch.zeros((), requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=0.05)
        for _ in range(steps):
            logit = x @ w + b
            bce = -(y * F.logsigmoid(logit) + (1 - y) * F.logsigmoid(-logit)).mean()
            opt.zero_grad()
            (bce + l2 * w.pow(2).sum()).backward()
            opt.step()
        return lambda x: torch.sigmoid(x @ w.detach() + b.detach()).numpy()

    def select_probe(x, y, keep=slice(None)):
        """The fit (on training rows ``keep``) whose penalty scores best on validation."""
        penalties = (1e-3, 1e-2, 1e-1)
        fits = {l2: fit_logistic(x["train"][keep], y["train"][keep], l2) for l2 in penalties}
        on_val = {l2: auroc(y["val"], f(x["val"]), n_boot=0).value for l2, f in fits.items()}
        l2 = max(on_val, key=lambda k: np.nan_to_num(on_val[k], nan=-1.0))  # NaN: one-class val
        return fits[l2], l2, on_val[l2]

    probe, l2, val_auroc = select_probe(x, y)
    by_hand = auroc(y["test"], probe(x["test"]), n_boot=bootstrap, seed=0)
    print(
        f"{x['train'].shape[1]} features, {len(y['train'])} training stays; penalty {l2:g} "
        f"(validation AUROC {val_auroc:.3f})\nby hand: test {by_hand}"
    )
else:
    print("add in-hospital-mortality to `tasks` for the probe by hand")

# %% [markdown]
# ## 4. Four ways to fuse two modalities, and what each does without an X-ray
# Section 5 trains the supervised fusion baselines. They share the two encoders (an
# LSTM over the hourly EHR, a ResNet over the film; the ResNet only ever runs on
# samples that have a film) and differ in where the two meet (`medmod_lib/fusion/`):
#
# - **Early fusion** (`early`): the X-ray features go through a linear layer to the
#   EHR feature size, are concatenated with the EHR features and one linear layer
#   gives the logits. The encoders are *frozen* (here the pretrained ones of
#   notebook 02); only the projection and the classifier train. Without a film the
#   projected X-ray vector is replaced by zeros (or, with `missing="learnable"`, by
#   one learned vector shared by all such samples).
# - **Joint fusion** (`joint`): the same network, trained end to end, encoders
#   included; the same replacement for a missing film.
# - **Late fusion** (`late`): each modality has its own linear head; the prediction
#   is the mean of the two predicted probabilities (softmax bins for length of stay).
#   Without a film it is the EHR head's prediction alone; no stand-in is needed.
# - **MedFuse** (`medfuse`): the projected X-ray vector and the EHR vector form a
#   sequence [EHR, X-ray] that a one-layer LSTM reads; a linear layer classifies its
#   last hidden state. Without a film the sequence has length 1, so the LSTM reads
#   the EHR vector only and never sees a stand-in (`missing="zeros"` or
#   `"learnable"` keep length 2 with a stand-in instead).
#
# The figure marks the designs this run trains (`models`; the `gpu` profile
# trains all four). Notebook 04 removes films from test stays and shows what these
# rules do to each model's AUROC.

# %%
import matplotlib.pyplot as plt

fig = viz.plot_fusion_designs(highlight=models)
plt.show()
print(viz.fusion_designs().drop(columns="missing_default").to_string(index=False))

# %% [markdown]
# ## 5. Train every protocol on every task
# Linear probes (frozen encoders; features computed once per split, then one linear
# layer), fine-tuning (encoders trainable), and the supervised baselines, all through
# the one training loop with the task's loss (BCE; cross-entropy over 10 bins for
# length of stay), the epoch chosen by validation AUROC (macro for phenotyping, kappa
# for length of stay) and early stopping on it. With `stage1_epochs` the baselines
# follow MedFuse: their X-ray encoder first learns the 14 radiology findings on every
# training film (a ResNet trained only on a task's few hundred paired films
# overfits), the fusion models start from the EHR-only model's encoder, and then
# everything trains on the task.

# %%
import pandas as pd
from medmod_lib.evaluation import (
    EncoderSpec,
    ProtocolConfig,
    evaluate_task,
    linear_eval,
    radiology_cxr_encoder,
)

common = dict(
    batch_size=batch_size,
    device=ctx.device,
    amp="auto" if amp else "off",
    seed=ctx.seed,
    n_boot=bootstrap,
    num_workers=num_workers,
    progress=not ctx.smoke,
)
probe_config = ProtocolConfig(epochs=probe_epochs, lr=probe_lr, patience=probe_patience, **common)
train_config = ProtocolConfig(epochs=epochs, lr=learning_rate, patience=patience, **common)
spec = EncoderSpec(
    ehr_hidden_dim=ehr_hidden_dim,
    cxr_arch=cxr_arch,
    cxr_in_channels=settings["data"]["channels"],
)
# every epoch run, the best on validation kept (shared with notebook 04); None if 0 epochs
cxr_stage1 = radiology_cxr_encoder(
    linked,
    cache,
    ctx.output_dir,
    encoders=spec,
    config=train_config,
    epochs=stage1_epochs,
    image_size=probe_image_size,
    max_samples=max_samples,
)
results = {}
for task in task_list:
    if task not in datasets:  # in-hospital mortality's was built in section 3
        datasets[task] = workflow.task_datasets(
            linked,
            ehr,
            cache,
            task=task,
            mode="paired",
            image_size=probe_image_size,
            channels=settings["data"]["channels"],
            max_bins=max_bins,
            max_samples=max_samples,
            seed=ctx.seed,
        )
    print(datasets[task])
    results[task] = evaluate_task(
        datasets[task],
        ehr_encoder=pretrained.ehr_encoder,
        cxr_encoder=pretrained.cxr_encoder,
        method=method,
        probe_config=probe_config,
        train_config=train_config,
        finetune=finetune,
        baselines=models,
        encoders=spec,
        cxr_stage1=cxr_stage1,
    )
    # the yardstick of pretraining: the same probe on the same architecture, untrained
    random_probe = linear_eval(
        datasets[task],
        ehr_encoder=untrained.ehr_encoder,
        cxr_encoder=untrained.cxr_encoder,
        modality="ehr+cxr",
        method="random",
        config=probe_config,
    )
    results[task][random_probe.name] = random_probe
rows = pd.concat([r.rows for by_task in results.values() for r in by_task.values()])
saved = ctx.save_results(rows, tag=method)
print(f"{len(rows)} result rows -> {saved.relative_to(ctx.output_dir)}")

# %% [markdown]
# The probe by hand of section 3 against the library's probe of the same encoders
# and features (`<method>/linear/ehr+cxr`), on the same test stays:

# %%
probe_name = f"{method}/linear/ehr+cxr"
if mortality in results and probe_name in results[mortality]:
    library = results[mortality][probe_name].rows.set_index("metric").loc["auroc"]
    agree = library["ci_low"] <= by_hand.value <= library["ci_high"]
    print(
        f"by hand (penalty {l2:g}): {by_hand}\nlibrary ({probe_name}): auroc "
        f"{library['value']:.3f} [{library['ci_low']:.3f}, {library['ci_high']:.3f}]"
    )
    print(
        f"The two differ by {by_hand.value - library['value']:+.3f}, "
        + (
            "inside the library probe's 95% bootstrap interval: they agree."
            if agree
            else "outside the library probe's 95% bootstrap interval: they disagree by more "
            "than the test set's noise; compare the penalty, the epochs and the validation "
            "AUROC of the two fits."
        )
    )

# %% [markdown]
# ## 6. One table with confidence intervals
# Headline metrics per task and model with 95% bootstrap intervals (1000 seeded
# resamples of the test set); the X-ray-only rows are scored on the samples with an
# image, which in the paired cohort are all of them.

# %%
# NBVAL_CHECK_OUTPUT
from medmod_lib.evaluation import results_table

table = results_table(rows)
print(f"{len(table)} models x {len(task_list)} task(s); test samples per task:")
for task, data in datasets.items():
    print(f"  {task.value}: train {len(data.train)}, val {len(data.val)}, test {len(data.test)}")

# %%
print(table.droplevel(["test_set"]).to_string())

# %% [markdown]
# ## 7. ROC and precision-recall curves
# Curves show where models differ (high-sensitivity or high-specificity regions),
# which one number per model hides; the legend repeats each AUROC/AUPRC with its CI.

# %%
from medmod_lib.evaluation import plot_pr_curves, plot_roc_curves
from medmod_lib.tasks import task_spec

binary = [t for t in task_list if task_spec(t).kind == "binary"]  # one probability per sample
shown = [f"{method}/linear/ehr+cxr", "ehr_only/supervised/ehr", "cxr_only/supervised/cxr"]
shown += [f"{b}/supervised/ehr+cxr" for b in models if b in ("medfuse", "joint")]
for task in binary:
    curves = {
        name: (res.predictions.y_true[:, 0], res.predictions.scores[:, 0])
        for name, res in results[task].items()
        if name in shown
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    plot_roc_curves(curves, ax=axes[0], n_boot=bootstrap, seed=0)
    plot_pr_curves(curves, ax=axes[1], n_boot=bootstrap, seed=0)
    fig.suptitle(f"{task.value} (paired test set)")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 8. Calibration and operating points
# AUROC asks only whether deaths get higher scores than survivors. A ward acts on the
# probability itself, at one threshold, so two more questions matter for the
# mortality models (the pretrained probe, EHR-only, and the fusion model chosen on
# validation, as in section 10's claims).
#
# *Calibration*: of the stays given a 30% risk, do about 30% die? The reliability
# diagram sorts the test stays into five equal-sized bins of predicted risk and plots
# each bin's observed death rate (95% Wilson interval) against its mean prediction;
# points on the diagonal are calibrated. A dotted line marks each model's
# 80%-sensitivity threshold (below): every stay right of it gets an alert. The Brier
# score is the mean squared error of the probabilities; predicting the test death
# rate $\pi$ for everyone scores $\pi(1-\pi)$, the yardstick a useful model must
# beat.
#
# *Operating points*: at a threshold, how many alerts per 100 patients, what share
# of deaths they catch (sensitivity), what share of survivors stays quiet
# (specificity), and what share of alerts are deaths (PPV)? The 80%-sensitivity
# threshold is set on the *validation* predictions, as it would be before
# deployment, and then applied to the test stays, which tell what it achieves; 0.5
# is the threshold a sigmoid output invites. `medmod_lib.metrics.operating_points`
# computes the table.

# %%
from medmod_lib.evaluation import claims, collect_predictions, plot_reliability
from medmod_lib.metrics import operating_points, threshold_at_sensitivity

FUSION = [f"{b}/supervised/ehr+cxr" for b in models if b not in ("ehr_only", "cxr_only")]
calibration, operating = pd.DataFrame(), pd.DataFrame()
if mortality in results:
    found = results[mortality]
    headline = [n for n in (probe_name, "ehr_only/supervised/ehr") if n in found]
    if any(n in found for n in FUSION):
        headline.append(claims.best_on_validation(found, FUSION).name)
    on_test = {
        n: (found[n].predictions.y_true[:, 0], found[n].predictions.scores[:, 0]) for n in headline
    }
    brier = rows[(rows["task"] == mortality.value) & (rows["metric"] == "brier")]
    brier = brier.set_index(brier["method"] + "/" + brier["protocol"] + "/" + brier["modality"])
    calibration = pd.DataFrame(
        {
            "brier": [brier.loc[n, "value"] for n in headline],
            "ci_low": [brier.loc[n, "ci_low"] for n in headline],
            "ci_high": [brier.loc[n, "ci_high"] for n in headline],
            "brier_of_death_rate": [np.mean(yt) * (1 - np.mean(yt)) for yt, _ in on_test.values()],
            "mean_predicted": [np.mean(p) for _, p in on_test.values()],
            "death_rate": [np.mean(yt) for yt, _ in on_test.values()],
        },
        index=pd.Index(headline, name="model"),
    )
    parts, alert_at = [], {}
    for n in headline:
        val = collect_predictions(
            found[n].predict,
            datasets[mortality].loader("val", batch_size=batch_size, num_workers=num_workers),
            desc=f"{n} on val",
        )
        at_80 = threshold_at_sensitivity(val.y_true[:, 0], val.scores[:, 0], 0.8)  # NaN: no death
        alert_at[n] = at_80
        points = operating_points(*on_test[n], {"80% sensitivity on val": at_80, "0.5": 0.5})
        parts.append(points.assign(model=n))
    operating = pd.concat(parts, ignore_index=True)
    ax = plot_reliability(on_test, thresholds=alert_at, n_bins=5, strategy="quantile")
    ax.set_title(f"{mortality.value}: test stays; dotted: 80%-sensitivity threshold")
    plt.show()
    print(calibration.round(3).to_string())
    op_cols = ["model", "rule", "threshold", "alerts_per_100", "sensitivity", "specificity", "ppv"]
    print(operating[[*op_cols, "tp", "fp", "fn", "tn"]].round(3).to_string(index=False))
    for n, c in calibration.iterrows():
        side = "over" if c["mean_predicted"] > c["death_rate"] else "under"
        beats = (  # resolved only when the whole interval is below the yardstick
            "beats" if c["ci_high"] < c["brier_of_death_rate"] else "does not clearly beat"
        )
        print(
            f"- {n}: mean predicted risk {c['mean_predicted']:.3f} against a death rate of "
            f"{c['death_rate']:.3f} ({side}-predicts on average); Brier {c['brier']:.3f} "
            f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}] {beats} the {c['brier_of_death_rate']:.3f} "
            "of predicting the death rate for everyone."
        )
    for r in operating.dropna(subset=["sensitivity"]).itertuples():
        print(
            f"- {r.model} at {r.rule} (threshold {r.threshold:.3f}): {r.alerts_per_100:.0f} "
            f"alerts per 100 test patients catch {r.sensitivity:.0%} of the "
            f"{int(r.tp + r.fn)} deaths; "
            + (f"{r.ppv:.0%} of the alerts are deaths." if r.tp + r.fp else "no alert at all.")
        )
else:
    print("add in-hospital-mortality to `tasks` for calibration and operating points")

# %% [markdown]
# Move the threshold yourself: the slider marks each model's point on its ROC curve,
# shades the alerted scores (dotted: the 80%-sensitivity threshold) and tabulates
# sensitivity, specificity, PPV and alerts per 100 there. It needs a live Jupyter
# session; the table above is the executed report's copy at two thresholds.

# %%
if mortality in results:
    from IPython.display import display

    display(viz.threshold_explorer(on_test, default=0.5, marks=alert_at))

# %% [markdown]
# ## 9. Does fusion beat the X-ray alone, and the EHR alone?
# Two intervals that overlap can still hide a consistent difference: the paired
# bootstrap scores both models on the same resamples of the same test stays, so its
# interval is for the difference itself. The X-ray-only vs EHR-only pair asks which
# modality carries a task's information.

# %%
from medmod_lib.evaluation import compare_results

pairs = [
    ("medfuse/supervised/ehr+cxr", "cxr_only/supervised/cxr"),
    ("cxr_only/supervised/cxr", "ehr_only/supervised/ehr"),
    (f"{method}/linear/ehr+cxr", f"{method}/linear/cxr"),
    ("medfuse/supervised/ehr+cxr", "ehr_only/supervised/ehr"),
    (f"{method}/linear/ehr+cxr", f"{method}/linear/ehr"),
]
comparisons = []
for task in task_list:
    for a, b in pairs:
        if a in results[task] and b in results[task]:
            d = compare_results(results[task][a], results[task][b], n_boot=bootstrap, seed=0)
            comparisons.append({"task": task.value, "a": a, "b": b} | d.as_dict())
comparisons = pd.DataFrame(comparisons)
shown_cols = ["task", "a", "b", "metric", "value_a", "value_b", "diff", "ci_low", "ci_high"]
print(comparisons[[*shown_cols, "p_value", "n"]].round(3).to_string(index=False))

# %% [markdown]
# ## 10. The demo's claims, checked on this run
# The synthetic data plants known effects (`data_cards/synthetic_demo.md`), so this
# run can be checked against them. Each claim names two models and says the first
# scores higher; its verdict comes from the paired bootstrap of the *difference* on
# the same test stays (section 9): **held** when the 95% interval of the difference
# lies above 0, **reversed** below 0, **not resolved** when it contains 0. "Best
# fusion" and "best single modality" are chosen on the *validation* score, never on
# the test set they are then scored on. The verdicts are saved with the results; the
# runner shows every notebook's claims first on the report's index page. On real data
# the same comparisons are computed; they are hypotheses there, not planted facts.

# %%
from medmod_lib.evaluation import claims

FUSION = [f"{b}/supervised/ehr+cxr" for b in models if b not in ("ehr_only", "cxr_only")]
SINGLE = ["ehr_only/supervised/ehr", "cxr_only/supervised/cxr"]
pairs_of_claims = {  # claim key -> (model claimed higher, model claimed lower)
    "fusion_beats_single": lambda r: (
        claims.best_on_validation(r, FUSION),
        claims.best_on_validation(r, SINGLE),
    ),
    "ehr_beats_xray": lambda r: (r["ehr_only/supervised/ehr"], r["cxr_only/supervised/cxr"]),
    "xray_beats_ehr": lambda r: (r["cxr_only/supervised/cxr"], r["ehr_only/supervised/ehr"]),
    "pretrained_beats_random": lambda r: (
        r[f"{method}/linear/ehr+cxr"],
        r["random/linear/ehr+cxr"],
    ),
}
verdicts = []
for claim in claims.of_notebook(claims.DEMO_CLAIMS, "03_linear_eval"):
    task = Task.parse(claim.task)
    what = claim.key.split(".", 1)[1]
    if task not in results:
        continue
    try:
        a, b = pairs_of_claims[what](results[task])
    except (KeyError, ValueError) as err:  # a model left out of `models`
        print(f"- {claim.key}: not checked ({err})")
        continue
    verdicts.append(
        claims.check_claim(claim, a, b, test_set="paired", seed=ctx.seed, n_boot=bootstrap)
    )
verdicts = claims.claims_frame(verdicts)
ctx.save_claims(verdicts, tag=method)
claims.print_verdicts(verdicts)

# %% [markdown]
# ## 11. Metrics by sex, age group and race
# An average can hide a group the model serves badly. Every group is listed with
# its size; groups under `min_size` samples or with one class get no metric (and
# say why) instead of a noisy number.

# %%
from medmod_lib.evaluation import subgroup_frame, subgroup_metrics

task = task_list[0]
best = claims.best_on_validation(results[task], FUSION)  # as in section 10's claims
test_samples = datasets[task].test.samples.merge(
    ehr.stays[["stay_id", "gender", "age", "race"]], on="stay_id", how="left", validate="m:1"
)
groups = subgroup_frame(test_samples)
y_test, scores = best.predictions.y_true, best.predictions.scores
if task in binary:
    y_test, scores = y_test[:, 0], scores[:, 0]
by_group = subgroup_metrics(
    task,
    y_test,
    scores,
    groups,
    metrics=["kappa"] if task == Task.LENGTH_OF_STAY else None,  # bins, not hours, here
    min_size=10 if ctx.smoke else 25,
    label_names=best.label_names,
    n_boot=bootstrap,
    seed=0,
)
print(f"{task.value}, {best.name} (best validation score among fusion models)")
print(by_group.round(3).to_string(index=False))

# %% [markdown]
# The same table as a forest plot: one row per group, its point the metric, its bar
# the 95% bootstrap interval, its label the group size (and the positives, deaths for
# mortality); the dashed line is the metric on all test samples. Read the widths
# before the points:
# - the width is set by the group's size, for an AUROC mostly by its rarer class (the
#   deaths): a small group gets a wide bar, and its point can land far from the line
#   by chance alone;
# - a bar that covers the dashed line is *no evidence of a gap*: the data are
#   compatible with that group being served as well as everyone. Nor is it evidence
#   of *no* gap when the bar is wide: a wide bar covers large gaps too;
# - evidence of a gap would be the interval of the *difference* between the group and
#   the rest of the test set (a bootstrap of the difference, as section 9 does for two
#   models) lying away from 0, for a group named before looking, and the gap holding on
#   another seed or data set. With many bars on one plot, about one 95% interval in
#   twenty misses the true value by chance, so a bar off the line among many can
#   appear even when no group is served worse.
#
# Groups without a value keep their row and say why.

# %%
from medmod_lib.evaluation import forest_frame, plot_subgroup_forest

shown_metric = by_group["metric"].iloc[0]  # AUROC for mortality, macro AUROC for radiology
positives = "deaths" if task == mortality else "positive labels"
ax = plot_subgroup_forest(by_group, metric=shown_metric, positive_name=positives)
ax.set_title(f"{task.value}, {best.name}: test {shown_metric} by group")
plt.show()
forest = forest_frame(by_group, metric=shown_metric, positive_name=positives)
overall = forest.iloc[0]
in_groups = forest[(forest["attribute"] != "all") & forest["value"].notna()]
print(
    f"overall {shown_metric} {overall['value']:.3f} [{overall['ci_low']:.3f}, "
    f"{overall['ci_high']:.3f}] on {overall['n']} test samples"
)
if in_groups.empty:
    print("no group is large enough, and has both classes, for a value on this test set")
else:
    wide, narrow = (
        in_groups.loc[in_groups["width"].idxmax()],
        in_groups.loc[in_groups["width"].idxmin()],
    )
    print(
        f"widest interval {wide['width']:.3f}: {wide['label']}; narrowest "
        f"{narrow['width']:.3f}: {narrow['label']}"
    )
    if narrow["width"] == 0:
        print(
            "an interval of width 0 means every resample of that group gave the same value "
            "(e.g. a perfect separation of a few stays): the bootstrap's limit on a small "
            "group, not certainty"
        )
    off = in_groups[in_groups["covers_overall"].eq(False)]
    print(
        f"{len(in_groups) - len(off)} of {len(in_groups)} scored groups' intervals cover the "
        "overall value (no evidence of a gap there)"
        + (
            "; away from it: " + "; ".join(off["label"]) + " (a hypothesis to test on the "
            "difference to the rest, with the number of groups looked at in mind)"
            if len(off)
            else "."
        )
    )
unscored = forest[forest["value"].isna()]
if len(unscored):
    print(
        "no value: "
        + "; ".join(f"{r.label} ({r.flag.replace('_', ' ')})" for r in unscored.itertuples())
    )

# %% [markdown]
# ## 12. The most confident errors
# A metric says how often the model is wrong; its worst errors say how. Take the
# mortality model chosen on validation (the fusion model of section 10's claims) and
# find the test stays where it was most confidently wrong: the survivors it scored
# highest (false alarms at all but the strictest thresholds) and the deaths it scored
# lowest (missed at all but the most lenient ones). The method:
# sort the survivors by score from the top and the deaths from the bottom, and take the
# first few of each (`most_confident_errors`); then look at the film the model saw and
# the stay's vital signs over the whole stay, film times marked.
#
# What to look for, case by case:
# - *a survivor scored high*: is the film busy (the tube, lines, opacities), the
#   verbal GCS charted "No Response-ETT", the vital signs deranged in the first 48 h?
#   Then the model read a sick patient who survived, an error no model of these inputs
#   can avoid. A calm film and calm vital signs would point at something else the model
#   keys on.
# - *a death scored low*: did the patient die after leaving the unit (the timeline ends
#   at ICU discharge; `in_unit_death` below says which)? Were the first 48 h quiet, the
#   deterioration later? Then the information was not in the input window. A death with
#   a deranged window and a busy film that still scored low is a miss of the model.
# - in both: the shortcut of section 13. Does intubation (tube on the film, "No
#   Response-ETT" in the window) go with the high scores and its absence with the low ones?
#
# The table gives, per stay, what a cell can check: the score and the share of test stays
# scored lower, the length of stay, death in the unit, an intubated verbal GCS in the
# 48-h window, and the film's Support Devices label. These are individual stays:
# patient-level data on a real data root.

# %% tags=["patient-level"]
from medmod_lib import cxr
from medmod_lib.evaluation import intubated, most_confident_errors, read_stay_events
from medmod_lib.evaluation.strata import VERBAL
from medmod_lib.synthetic.writer import read_manifest

chexpert = cxr.read_study_labels(ctx.data_root)  # raw study labels: 1 / 0 / -1 / NaN
errors = pd.DataFrame()
if mortality in results:
    found = results[mortality]
    chosen = (
        claims.best_on_validation(found, FUSION).name
        if any(n in found for n in FUSION)
        else "ehr_only/supervised/ehr"
    )
    mort_test = datasets[mortality].test.samples.reset_index(drop=True)
    ett = intubated(read_stay_events(ehr, mort_test, [VERBAL]), mort_test)
    preds = found[chosen].predictions
    errors = most_confident_errors(
        preds.y_true[:, 0], preds.scores[:, 0], k=3, stay_id=preds.stay_id
    )
    facts = mort_test.assign(ett_in_window=ett).set_index("stay_id")
    stays = ehr.stays.set_index("stay_id")
    errors = errors.assign(
        los_days=errors["stay_id"].map(stays["los"]).round(1),
        in_unit_death=errors["stay_id"].map(stays["mortality_inunit"]),
        ett_in_window=errors["stay_id"].map(facts["ett_in_window"]),
        support_devices=errors["stay_id"]
        .map(facts["study_id"])
        .map(chexpert.set_index("study_id")["Support Devices"]),
    )
    print(f"{chosen}: the most confident errors on {len(mort_test)} paired test stays")
    print(errors.drop(columns=["row", "y_true"]).round(3).to_string(index=False))
else:
    print("add in-hospital-mortality to `tasks` for the most confident errors")

# %% [markdown]
# The film each of these stays was scored with (the latest AP film of the first 48 h),
# with its study's CheXpert findings, then each stay's timeline.

# %% tags=["patient-level"]
if not errors.empty:
    films = errors[["kind", "rank", "stay_id", "score"]].merge(
        mort_test[["stay_id", "dicom_id", "study_id"]], on="stay_id", how="left"
    )
    short = {"survivor scored high": "survivor", "death scored low": "death"}
    fig = viz.show_films_with_findings(
        cache,
        films,
        chexpert,
        synthetic=read_manifest(ctx.data_root) is not None,
        titles=[
            f"{short.get(r.kind, r.kind)} #{r.rank}: {r.score:.2f}" for r in films.itertuples()
        ],
        ncols=3,
        panel_size=2.0,
    )
    plt.show()
    for r in errors.itertuples():
        print(f"{r.kind} #{r.rank}: stay {r.stay_id}, score {r.score:.3f}")
        viz.plot_stay_timeline(
            ehr, r.stay_id, images=linked.images, cache=cache, views=("AP",), max_images=3
        )
        plt.show()

# %% [markdown]
# ## 13. A shortcut in both modalities: intubation
# The synthetic data plants intubation in both modalities, as real ICUs have it: a
# ventilated stay charts its verbal GCS as "No Response-ETT" (the patient cannot speak
# past the tube) and every ICU film of the stay shows the endotracheal tube (CheXpert
# "Support Devices"). Ventilation follows the shared, lung and neuro state that also
# drive death, so intubated stays are planted to die more often (the cell prints each
# stratum's death rate on this test set). Where they do, a model can earn AUROC by
# ranking intubated stays above the others: a *shortcut*. It is real information
# (intubation marks severity), but a model that ranks mostly by it tells the bedside
# nothing it does not see, and it breaks where intubation practice differs.
#
# How to detect it without training anything, on the predictions of section 5:
# 1. Flag each test stay as intubated when its verbal GCS is charted "No Response-ETT"
#    within the task window (the first 48 h, the hours the model reads;
#    `read_stay_events` and `intubated`), and cross-check with the film's Support
#    Devices label.
# 2. Give each stratum's size and outcome rate (Wilson 95% interval): a large difference
#    in death rate is what makes the shortcut pay.
# 3. Score each model's AUROC overall, within each stratum, and *pooled within strata*:
#    only pairs of a death and a survivor from the same stratum count
#    (`stratified_auroc`, a stratified Mann-Whitney statistic). Also score the stratum
#    alone (every stay gets its stratum's death rate), the AUROC the shortcut gives by
#    itself, and the overall minus the pooled AUROC with a paired bootstrap interval on
#    the same resamples.
#
# Reading it: a model whose pooled within-strata AUROC stays near its overall AUROC
# ranks deaths above survivors also among stays with the same intubation status, i.e.
# by more than the tube. One whose within-strata AUROC falls towards 0.5 while the
# stratum alone gives most of its overall AUROC ranks mostly by the shortcut. A drop
# whose interval lies above 0 says that part of the overall AUROC comes from ranking
# the strata.

# %%
from medmod_lib.evaluation import stratified_auroc
from medmod_lib.evaluation.strata import ALONE, DROP, WITHIN

shortcut = pd.DataFrame()
if mortality in results:
    devices_on_film = mort_test["study_id"].map(chexpert.set_index("study_id")["Support Devices"])
    print("intubated verbal GCS in the 48-h window (rows) vs the film's Support Devices (columns):")
    print(
        pd.crosstab(
            pd.Series(np.where(ett, "ETT charted", "not charted"), name="EHR"),
            devices_on_film.map({1.0: "1 positive", 0.0: "0 negative", -1.0: "-1 uncertain"})
            .fillna("blank")
            .rename("film"),
        ).to_string()
    )
    status = pd.Series(np.where(ett, "intubated", "not intubated"), index=mort_test["stay_id"])
    checked = [
        n
        for n in (probe_name, "ehr_only/supervised/ehr", "cxr_only/supervised/cxr", chosen)
        if n in found
    ]
    parts = []
    for n in dict.fromkeys(checked):
        p = found[n].predictions
        parts.append(
            stratified_auroc(
                p.y_true[:, 0],
                p.scores[:, 0],
                status.reindex(p.stay_id).to_numpy(),
                min_size=10 if ctx.smoke else 25,
                n_boot=bootstrap,
                seed=0,
            ).assign(model=n)
        )
    shortcut = pd.concat(parts, ignore_index=True)
    first = shortcut[shortcut["model"] == checked[0]]
    rates = first[first["stratum"].isin(["all", "intubated", "not intubated"])]
    print("\ndeath rate per stratum (Wilson 95% interval):")
    for r in rates.itertuples():
        rate = f"{r.rate:.3f} [{r.rate_low:.3f}, {r.rate_high:.3f}]" if r.n else "no stays"
        print(f"  {r.stratum:14s} {r.n:4d} stays, {r.n_positive:4.0f} deaths, rate {rate}")
    shortcut["auroc [95% CI]"] = [
        f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(v) else f"- ({flag.replace('_', ' ')})"
        for v, lo, hi, flag in zip(
            shortcut["auroc"],
            shortcut["ci_low"],
            shortcut["ci_high"],
            shortcut["flag"],
            strict=True,
        )
    ]
    print("\nAUROC overall, within each stratum, pooled within strata, and of the stratum alone:")
    print(
        shortcut.pivot_table(
            index="model", columns="stratum", values="auroc [95% CI]", aggfunc="first", sort=False
        ).to_string()
    )
else:
    print("add in-hospital-mortality to `tasks` for the shortcut check")

# %% [markdown]
# What this run says, model by model (computed from the table above):

# %%
for n, part in shortcut.groupby("model", sort=False) if len(shortcut) else []:
    row = part.set_index("stratum")
    o, w, a, d = (row.loc[k] for k in ("all", WITHIN, ALONE, DROP))
    if not np.isfinite(w["auroc"]):
        print(f"- {n}: no stratum has both deaths and survivors; the check cannot run here.")
        continue
    verdict = (
        "part of its AUROC comes from ranking intubated stays above the others"
        if d["ci_low"] > 0
        else "within strata it ranks better than overall"
        if d["ci_high"] < 0
        else "the drop is not resolved on this test set: no evidence that it ranks mostly by "
        "intubation"
    )
    print(
        f"- {n}: overall {o['auroc']:.3f}, pooled within strata {w['auroc']:.3f} "
        f"[{w['ci_low']:.3f}, {w['ci_high']:.3f}], drop {d['auroc']:+.3f} "
        f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]: {verdict}; the stratum alone scores "
        f"{a['auroc']:.3f}."
    )

# %% [markdown]
# ## 14. How many labels does pretraining save?
# Self-supervision is meant to pay off when labels are scarce: a probe on good
# features should need fewer labelled stays than one on untrained features. The
# logistic regression of section 3 is fitted again on each share in `label_shares`
# (by default 5, 10, 25, 50 and 100 %) of the paired mortality training stays, each
# share below 100 % drawn `label_draws` times with
# different seeds (nested, as the library's `linear_eval_fractions` draws them: a
# smaller share's stays lie inside a larger one's), once on the pretrained encoders'
# features and once on the untrained encoders' (the `random` yardstick). Validation
# picks the penalty at every point; the plot shows the test AUROC, mean and range over
# the draws. The dashed line is the best supervised mortality model of section 5,
# trained end to end on all the labels (training it again at every share would cost
# a full training per point). The spread between draws at the smallest share is the
# other lesson: the cell compares it with the gap between the two encoders, that is,
# how much *which* stays were labelled matters next to which encoder was used.

# %%
from medmod_lib.evaluation import label_subset, plot_label_draws
from tqdm.auto import tqdm

efficiency = pd.DataFrame()
if mortality in task_list:
    features_of = {  # section 3's helpers, on the pretrained and the untrained encoders
        method: x,
        "random": frozen_features(untrained, datasets[mortality], "random")[0],
    }
    fits_todo = [
        (encoder, share, draw)
        for encoder in features_of
        for share in label_shares
        for draw in range(label_draws if share < 1 else 1)  # 100 %: one subset, all stays
    ]
    points = []
    for encoder, share, draw in tqdm(fits_todo, desc="label efficiency", disable=ctx.smoke):
        xs = features_of[encoder]
        keep = label_subset(len(y["train"]), share, seed=draw)
        probe_of_share = select_probe(xs, y, keep)[0]
        test = auroc(y["test"], probe_of_share(xs["test"]), n_boot=0).value
        points.append(
            {"encoder": encoder, "fraction": share, "draw": draw, "labels": len(keep), "value": test}
        )
    efficiency = pd.DataFrame(points)
    supervised = [k for k in results[mortality] if "/supervised/" in k]
    reference = {}
    if supervised:
        top_supervised = claims.best_on_validation(results[mortality], supervised)
        reference[f"{top_supervised.name} (all labels)"] = float(
            top_supervised.rows.loc[top_supervised.rows["metric"] == "auroc", "value"].iloc[0]
        )
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_label_draws(efficiency, reference=reference, ax=ax)
    ax.set_title(f"{mortality.value}: linear probe by hand, {label_draws} draws per share")
    plt.show()
    summary = efficiency.groupby(["encoder", "fraction"])["value"].agg(["mean", "min", "max"])
    print(summary.round(3).unstack("encoder").to_string())
    means = summary["mean"].unstack("encoder")
    ahead = [f"{f:.0%}" for f in means.index if means.loc[f, method] > means.loc[f, "random"]]
    print(
        f"The probe on {method} features leads the one on untrained features at "
        f"{len(ahead)} of {len(means)} label shares ({', '.join(ahead) or 'none'}), by the "
        "mean over draws; where the untrained curve lies above, pretraining did not help "
        "this run (section 10's pretrained-vs-random claim says whether such a difference "
        "is resolved on the full training set)."
    )
    low = min(label_shares)
    spread = (summary["max"] - summary["min"]).unstack("encoder").loc[low].max()
    gap = abs(means.loc[low, method] - means.loc[low, "random"])
    print(
        f"At {low:.0%} of the labels the draws of one encoder span up to {spread:.3f} AUROC, "
        f"while the two encoders' means differ by {gap:.3f}."
    )
else:
    print("add in-hospital-mortality to `tasks` for the label-efficiency curve")

# %% [markdown]
# ## Takeaways
# The numbers below are computed from this run (they change with the data, the seed
# and the settings). On the synthetic data the data card's planted structure is the
# yardstick: section 10's claims say which differences this run resolved.

# %%
for task in task_list:
    key = task_spec(task).monitor
    of_task = rows[(rows["task"] == task.value) & (rows["metric"] == key)]
    top = of_task.sort_values("value", ascending=False).iloc[0]
    print(
        f"- {task.value}: best test {key} {top['value']:.3f} "
        f"[{top['ci_low']:.3f}, {top['ci_high']:.3f}] by {top['method']}/{top['protocol']}/"
        f"{top['modality']} (n={top['n']})."
    )
for c in comparisons.itertuples():
    verdict = "excludes 0" if c.ci_low > 0 or c.ci_high < 0 else "includes 0"
    print(
        f"- {c.task}: {c.a} - {c.b} = {c.diff:+.3f} {c.metric} "
        f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}], paired bootstrap interval {verdict}."
    )
held = verdicts[verdicts["verdict"] == claims.HELD]
print(
    f"- {len(held)} of {len(verdicts)} claims held on this run (section 10); "
    + (
        "not held: "
        + "; ".join(
            f"{r.task}: {r.statement} ({r.verdict})"
            for r in verdicts[verdicts["verdict"] != claims.HELD].itertuples()
        )
        if len(held) < len(verdicts)
        else "every planted difference was resolved on these test stays."
    )
)
if mortality in results and probe_name in results[mortality]:
    print(
        f"- The logistic regression fitted by hand on the frozen features scored test AUROC "
        f"{by_hand.value:.3f}, the library's probe {library['value']:.3f}: "
        + (
            "they agree within the library probe's 95% interval"
            if agree
            else "they differ by more than the library probe's 95% interval"
        )
        + " (section 5)."
    )
if len(efficiency):
    mean_at = efficiency.groupby(["encoder", "fraction"])["value"].mean()
    low, high = min(label_shares), max(label_shares)
    print(
        f"- Label efficiency (section 14, mean of {label_draws} draws): with {low:.0%} of the "
        f"training labels the probe on {method} features scores test AUROC "
        f"{mean_at[(method, low)]:.3f}, on untrained features {mean_at[('random', low)]:.3f}; "
        f"with {high:.0%} of them {mean_at[(method, high)]:.3f} and "
        f"{mean_at[('random', high)]:.3f}."
    )
if not calibration.empty:
    top = calibration.index[-1]  # the fusion model chosen on validation, if one was trained
    c = calibration.loc[top]
    print(
        f"- {top}: Brier {c['brier']:.3f} against {c['brier_of_death_rate']:.3f} for predicting "
        f"the death rate; mean predicted risk {c['mean_predicted']:.3f}, death rate "
        f"{c['death_rate']:.3f} (section 8)."
    )
    for r in operating[operating["model"] == top].dropna(subset=["sensitivity"]).itertuples():
        print(
            f"  at {r.rule} (threshold {r.threshold:.3f}): {r.alerts_per_100:.0f} alerts per 100 "
            f"test patients, sensitivity {r.sensitivity:.0%}, specificity {r.specificity:.0%}, "
            + (f"PPV {r.ppv:.0%}." if r.tp + r.fp else "no alert.")
        )
if len(forest) > 1:
    n_scored = int(forest["covers_overall"].notna().sum())
    n_cover = int(forest["covers_overall"].eq(True).sum())
    print(
        f"- {task_list[0].value} by group (section 11): {n_cover} of {n_scored} scored groups' "
        f"intervals cover the overall {shown_metric}; "
        f"{int(forest['value'].isna().sum())} group(s) too small or one-class for a value."
    )
for n, part in shortcut.groupby("model", sort=False) if len(shortcut) else []:
    row = part.set_index("stratum")
    if np.isfinite(row.loc[DROP, "auroc"]):
        print(
            f"- {n}: AUROC {row.loc['all', 'auroc']:.3f} overall, "
            f"{row.loc[WITHIN, 'auroc']:.3f} within intubation strata (drop "
            f"{row.loc[DROP, 'auroc']:+.3f} [{row.loc[DROP, 'ci_low']:+.3f}, "
            f"{row.loc[DROP, 'ci_high']:+.3f}]; section 13)."
        )
print(
    "- X-ray-only models are scored on paired samples only; every comparison above uses "
    "identical test stays."
)

# %% [markdown]
# ## Exercises
# Predict first, then open the answer; the answer cells read this run's objects
# (`rows`, `results`, `datasets`, `verdicts`, `by_group`, `shortcut`) and train nothing.

# %% [markdown]
# ### Exercise 1: Predict the ranking before you run
# Before running this notebook on the synthetic data, write down, for each task in
# `tasks`, the order of the EHR-only, X-ray-only and MedFuse models on the test
# metric, and which of section 10's claims you expect to *hold* at the demo's size.
# Use the planted structure: `medmod_lib/synthetic/signal.py` (which factor is drawn
# on the film, which is charted in the EHR, the mortality weights) and the claims
# table under "What the demo shows" in `data_cards/synthetic_demo.md` (the planted
# effect behind each claim). Then compare with this run.

# %% [markdown]
# <details><summary>Answer</summary>
#
# The radiology findings are drawn on the film, so X-ray-only should beat EHR-only
# there; the data card expects that margin to resolve at the demo's size.
# In-hospital death depends on every factor: the lung and cardiac state is plain on
# the film and faint in the vitals, the neuro and metabolic state (and the
# deterioration before death) is in the EHR, so each modality holds mortality
# information the other lacks and fusion should beat the best single modality; which
# single modality comes first follows from how the mortality weights split between
# the film's factors and the EHR's. Whether a claim is *resolved* is a separate
# question from whether its ordering is right: it depends on the size of the
# difference against the width of its paired-bootstrap interval, which the number of
# test deaths sets (exercise 2; the data card's "How the sizes were chosen" sizes the
# default data for this). An ordering can be right and still come out *not resolved*
# on one seed. The cell prints the planted weights, this run's ranking per task, and
# the verdicts of section 10.
#
# </details>

# %% tags=["exercise-answer"]
from medmod_lib.synthetic import signal

on_film = [f for f in signal.FACTORS if f in ("lung", "cardiac")]
weights = dict(zip(signal.FACTORS, signal.MORTALITY_WEIGHTS, strict=True))
print(
    "planted mortality weights: "
    + ", ".join(f"{f} {w:.2f}" for f, w in weights.items())
    + f" (plain on the film: {', '.join(on_film)})"
)
ranked = {
    "ehr_only/supervised/ehr": "EHR-only",
    "cxr_only/supervised/cxr": "X-ray-only",
    "medfuse/supervised/ehr+cxr": "MedFuse",
}
for task in task_list:
    key = task_spec(task).monitor
    of_task = rows[(rows["task"] == task.value) & (rows["metric"] == key)]
    score = {
        label: of_task.loc[
            (of_task["method"] + "/" + of_task["protocol"] + "/" + of_task["modality"]) == name,
            "value",
        ].iloc[0]
        for name, label in ranked.items()
        if name in results[task]
    }
    order = sorted(score, key=score.get, reverse=True)
    print(f"{task.value} (test {key}): " + " > ".join(f"{m} {score[m]:.3f}" for m in order))
print("section 10's verdicts on this run:")
for r in verdicts.itertuples():
    interval = f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
    print(f"  {r.claim:36s} {r.verdict:12s} difference {r.diff:+.3f} {interval}")

# %% [markdown]
# ### Exercise 2: How many test stays would resolve a mortality difference?
# The mortality intervals of section 6 are wide. Predict how many times more paired
# test stays (at the same death rate) you would need to halve the width of the
# EHR-only model's AUROC interval. Then compute the current width and what the
# Hanley-McNeil formula (`medmod_lib.metrics.auroc_half_width`) gives for larger
# test sets.

# %% [markdown]
# <details><summary>Answer</summary>
#
# About four times: an interval's width shrinks like one over the square root of the
# number of samples, and for an AUROC the rarer class (here the deaths) counts most.
# So resolving a difference half as large takes about four times the test deaths.
# That is why the default synthetic root puts 55 % of its subjects in the test split
# (data card, "How the sizes were chosen"). A claim's interval is that of the paired
# *difference*, narrower than either model's own when the two models agree on most
# stays. The cell prints this run's bootstrap width and the formula's width for 1, 4
# and 16 times the test set.
#
# </details>

# %% tags=["exercise-answer"]
from medmod_lib.metrics import auroc_half_width

mortality = Task.IN_HOSPITAL_MORTALITY
if mortality in datasets and "ehr_only/supervised/ehr" in results[mortality]:
    ehr_row = rows[
        (rows["task"] == mortality.value)
        & (rows["method"] == "ehr_only")
        & (rows["metric"] == "auroc")
    ].iloc[0]
    y = datasets[mortality].test.samples["y_true"].to_numpy()
    deaths, survivors = int(y.sum()), int(len(y) - y.sum())
    print(
        f"EHR-only test AUROC {ehr_row['value']:.3f} [{ehr_row['ci_low']:.3f}, "
        f"{ehr_row['ci_high']:.3f}]: bootstrap width {ehr_row['ci_high'] - ehr_row['ci_low']:.3f} "
        f"on {len(y)} stays with {deaths} deaths"
    )
    planned = min(max(float(ehr_row["value"]), 0.51), 0.99)  # the formula needs 0 < AUROC < 1
    for k in (1, 4, 16):
        if deaths and survivors:
            width = 2 * auroc_half_width(planned, k * deaths, k * survivors)
            print(f"  x{k:2d}: {k * len(y):5d} stays, {k * deaths:4d} deaths -> width {width:.3f}")
else:
    print("add in-hospital-mortality to `tasks` (and ehr_only to `models`) for this exercise")

# %% [markdown]
# ### Exercise 3: Reading the subgroup table
# Section 11 lists every group with its size, but a row can be left without a metric.
# Before looking, which groups do you expect to be left empty, and why is an empty
# cell better than a number there? Then list the empty rows (if any) with their
# reason, and the interval widths of the others.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Any group under `min_size` stays (an age band or a race group that is rare in the
# test set) and any group with only one class (no death at all, where an AUROC is
# undefined); on a large test set there may be none. A number for a group of a
# handful of stays would have an interval spanning most of [0, 1], and a table of
# such numbers invites reading noise as unfairness. For the groups that are scored,
# compare interval widths before comparing values: a small group (few deaths) gets a
# wide interval, and two groups differ only where their intervals (better: a paired
# comparison) say so. The `flag` column gives each empty row's reason.
#
# </details>

# %% tags=["exercise-answer"]
empty = by_group[by_group["value"].isna()]
print(f"{len(empty)} of {len(by_group)} rows have no metric:")
print(empty[["attribute", "group", "n", "n_positive", "metric", "flag"]].to_string(index=False))
scored = by_group.dropna(subset=["value"]).assign(width=lambda f: f["ci_high"] - f["ci_low"])
print("interval widths of the scored rows:")
width_cols = ["attribute", "group", "n", "metric", "value", "width"]
print(scored[width_cols].round(3).to_string(index=False))

# %% [markdown]
# ### Exercise 4: Which model leans on the tube?
# Section 13 stratified the test stays by the verbal GCS charted in the EHR. The film
# carries the same shortcut: the tube makes its study's Support Devices label positive.
# Before running the cell, predict for the X-ray-only and the EHR-only models which
# loses more AUROC within strata, and whether stratifying by the film's Support Devices
# label instead of the EHR flag changes the picture. Then compare both stratifications.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Each model can read intubation in its own modality (the tube on the film, "No
# Response-ETT" in the verbal GCS), so either can rank by it; what differs is what else
# it sees. The X-ray-only model sees the lung and cardiac state beside the tube, the
# EHR-only model the neuro and metabolic state, the vital signs and the deterioration
# before death. A model that ranks mostly by the tube loses AUROC within strata; one
# whose within-strata AUROC is about its overall one (a drop near 0, or below it)
# ranks by what else it sees; a model can even gain within strata, when the pairs of
# a death and a survivor across strata are the ones it ranks worst. The two flags
# agree on most stays but not all (the EHR charts "No Response-ETT" for most, not all,
# verbal GCS entries of a ventilated stay; Support Devices also marks lines and leads
# without a tube, and labels are noisy), so the two stratifications need not give
# equal numbers. Read the drop's interval, not
# the point: a drop whose interval contains 0 is not resolved on this test set, however
# large its point. The cell prints both stratifications side by side.
#
# </details>

# %% tags=["exercise-answer"]
if len(shortcut):
    film_status = pd.Series(
        np.where(devices_on_film.to_numpy() == 1, "tube on film", "no tube on film"),
        index=mort_test["stay_id"],
    )
    side = []
    for n in [m for m in ("ehr_only/supervised/ehr", "cxr_only/supervised/cxr") if m in found]:
        p = found[n].predictions
        by_film = stratified_auroc(
            p.y_true[:, 0],
            p.scores[:, 0],
            film_status.reindex(p.stay_id).to_numpy(),
            min_size=10 if ctx.smoke else 25,
            n_boot=bootstrap,
            seed=0,
        ).set_index("stratum")
        by_ehr = shortcut[shortcut["model"] == n].set_index("stratum")
        for source, frame in (("EHR: verbal GCS", by_ehr), ("film: Support Devices", by_film)):
            side.append(
                {
                    "model": n,
                    "strata from": source,
                    "overall": frame.loc["all", "auroc"],
                    "within": frame.loc[WITHIN, "auroc"],
                    "drop": frame.loc[DROP, "auroc"],
                    "drop_low": frame.loc[DROP, "ci_low"],
                    "drop_high": frame.loc[DROP, "ci_high"],
                    "stratum alone": frame.loc[ALONE, "auroc"],
                }
            )
    print(pd.DataFrame(side).round(3).to_string(index=False))
else:
    print("add in-hospital-mortality to `tasks` for this exercise")
