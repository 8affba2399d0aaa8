# %% [markdown]
# # 02 Pretraining: EHR and X-ray encoders from paired stays, without labels
# Pretrains an LSTM (hourly EHR) and a ResNet (X-ray) on the paired stays of the
# linked in-hospital-mortality cohort with one self-supervised objective (`method`:
# SimCLR, VICReg or ALIGN), and checks whether the learned features help: a linear
# probe on them against the same probe on randomly initialised encoders. Reads the
# data root (reusing `output_dir`'s processed data, links and image cache); writes
# checkpoints to `output_dir/pretrain/<method>/seed<seed>/` (notebook 03 probes them,
# notebook 06 reuses an ALIGN run) and a results table.

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - explain the three self-supervised objectives used here (SimCLR's NT-Xent, VICReg's
#   invariance, variance and covariance terms, ALIGN/CLIP's cross-modal InfoNCE) and
#   what stops each from collapsing;
# - say why pretraining on unlabelled pairs is worth doing and what a linear probe
#   measures;
# - write NT-Xent, VICReg's three terms and the CLIP loss by hand on toy tensors and
#   check them against the library;
# - pretrain paired EHR and X-ray encoders with one training loop, pick the epoch
#   without labels, and judge them against the right baseline: the same linear probe
#   on random encoders, with the noise of a small held-out set in mind;
# - read an embedding plot and a paired-vs-shuffled similarity histogram.
#
# **Prerequisites.** `01_linking` (the paired in-hospital-mortality cohort); PyTorch
# basics (tensors, `nn.Module`, a training loop); cosine similarity, softmax and
# cross-entropy; logistic regression and AUROC.
#
# **Time.** About 2.5 min to run on 2 CPU cores in the default `cpu` profile (12
# pretraining epochs); about 30 minutes to read, plus the exercises.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # auto | cpu | cuda | cuda:N | mps; never assume CUDA
smoke = False  # True: tiny settings, seconds per notebook (tests)
method = "vicreg"  # vicreg | simclr (NT-Xent) | align (CLIP loss, learnable temperature)
epochs = 12  # MedMod: 300; about two minutes on 2 CPU cores
batch_size = 32  # pairs per batch (MedMod: 256)
learning_rate = 1e-3  # AdamW peak lr (warm-up 1 epoch, then cosine)
image_size = 64  # X-ray side in pixels (MedMod: 224)
cxr_arch = "resnet18"  # resnet18 | resnet34 (MedMod)
ehr_hidden_dim = 64  # LSTM width (MedMod SSL: 128, ALIGN: 256)
max_bins = 48  # hours of EHR input per stay (in-hospital mortality uses the first 48 h)
max_samples = None  # cap on pairs per split (smoke runs); None: all
train_pairs = "stay_images"  # stay_images (every AP film of a train stay, ~3.7x) | task
train_preset = "benchmark"  # augmentation of the pretraining images: benchmark (mild) | simclr
monitor = "val_loss"  # epoch selection: val_loss (no labels) | auto (MedMod: probe val AUROC)
num_workers = 0  # data-loader workers
amp = False  # mixed precision (CUDA only; ignored on CPU)

# %%
from medmod_lib import notebook, viz

ctx = notebook.setup(
    name="02_pretraining",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)
viz.use_style()

# %% [markdown]
# ## 1. Why self-supervision
# Labels are the scarce part of clinical data, so it pays to learn as much as
# possible without them.
#
# - **Labels are scarce and expensive.** Outcomes such as death are recorded but
#   rare (a cohort of thousands has a few hundred deaths); phenotypes need trained
#   coders; film findings need a radiologist's report or a labeler run over it; and
#   every new question needs a new label. Models trained on a few hundred positives
#   overfit.
# - **Pairs are free.** Every ICU stay with a chest X-ray yields an (EHR, film) pair
#   with no annotation at all. Self-supervised pretraining turns the pairing itself
#   into the training signal: each modality's embedding must agree with (or pick out)
#   the other's, so the encoders learn what the two views share: acuity,
#   ventilation, fluid status.
# - **Linear evaluation measures what was learnt.** After pretraining, the encoders
#   are frozen and only a logistic regression is fitted on their features with the
#   task labels. Its AUROC says how much task information is *linearly readable* in
#   the representation, not what a fine-tuned model could reach; the same probe on
#   randomly initialised encoders is the baseline, so the difference is what
#   pretraining added (Chen et al. 2020, SimCLR; MedMod, Elsharief et al. 2025).

# %% [markdown]
# ## 2. Three ways to learn from pairs
# Each stay gives two views of one patient: the EHR window and the X-ray. An
# encoder per modality maps its view to a feature vector h, and a small projection
# head g maps h to an embedding z where the objective is computed; after
# pretraining the heads are dropped and h is what later notebooks use.
#
# - **Contrastive (SimCLR NT-Xent).** In a batch of N pairs, each embedding must
#   pick its partner out of the 2N - 1 others: a softmax over cosine similarities
#   divided by a temperature τ. Negatives push unrelated stays apart, so the
#   batch size matters.
# - **Non-contrastive (VICReg).** No negatives: an *invariance* term pulls the two
#   views of a stay together (mean squared error), a *variance* term keeps every
#   embedding dimension's standard deviation above 1 (no collapse to a point), and
#   a *covariance* term decorrelates dimensions (no redundant features). Weights
#   25, 25 and 1.
# - **Cross-modal (ALIGN / CLIP).** A symmetric InfoNCE between the EHR and the
#   X-ray embeddings only (EHR -> X-ray and X-ray -> EHR), with a learnable
#   temperature, as in ConVIRT, CLIP and ALIGN.
#
# All three are used cross-modally here (MedMod): the positive pair is the EHR
# and the X-ray of the same stay. Write each loss once by hand, d2l style, and
# check it against the library; NT-Xent first.

# %%
import torch
import torch.nn.functional as F
from medmod_lib.losses import nt_xent_loss


def nt_xent_by_hand(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over 2N embeddings: the positive is the other view, never the anchor itself."""
    z = F.normalize(torch.cat([z_a, z_b]), dim=1)  # (2N, D) unit vectors
    logits = z @ z.T / temperature  # (2N, 2N) cosine similarity / tau
    logits.fill_diagonal_(float("-inf"))  # an embedding is not its own negative
    n = len(z_a)
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])  # row i's other view
    return F.cross_entropy(logits, partner)  # mean over the 2N anchors


g = torch.Generator().manual_seed(ctx.seed)
z_a, z_b = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
mine = nt_xent_by_hand(z_a, z_b, temperature=0.1)
library = nt_xent_loss(z_a, z_b, temperature=0.1)
torch.testing.assert_close(mine, library)
aligned = nt_xent_loss(z_a, z_a + 0.05 * torch.randn(16, 8, generator=g), temperature=0.1)
print(f"by hand {mine:.5f} = library {library:.5f}; random pairs vs nearly equal pairs: ")
print(f"  loss {library:.3f} (chance level log(2N-1) = {torch.log(torch.tensor(31.0)):.3f})")
print(f"  vs {aligned:.3f} when each z_b is a small perturbation of its z_a")

# %% [markdown]
# ## 3. VICReg's three terms, by hand
# VICReg (Bardes, Ponce and LeCun, ICLR 2022) has no negatives, so each of its terms
# guards against one failure; seeing them on four stays and three dimensions makes
# the weights 25 / 25 / 1 readable. With z_a, z_b of shape (N, D):
#
# - invariance = mean over all N x D entries of (z_a - z_b)^2;
# - variance = mean over dimensions d of max(0, 1 - sqrt(var_d + eps)), var_d the
#   unbiased batch variance, averaged over the two branches;
# - covariance = sum of the squared off-diagonal entries of the covariance matrix
#   C = z_c^T z_c / (N - 1) (z_c centred), divided by D, summed over the branches.
#
# The toy batch is built to trip the last two: dimension 1 barely varies (its std is
# far below 1) and dimension 2 nearly copies dimension 0 (a large off-diagonal C).

# %%
from medmod_lib.losses import covariance_loss, invariance_loss, variance_loss, vicreg_loss

# 4 stays, 3 dimensions; z_b = z_a + a little noise (the "other view")
v_a = torch.tensor([[1.0, 0.2, 1.1], [-1.0, 0.1, -0.9], [0.5, -0.2, 0.6], [-0.5, -0.1, -0.4]])
v_b = v_a + torch.tensor([[0.2, 0.0, 0.0], [0.0, 0.1, -0.2], [-0.2, 0.0, 0.1], [0.0, -0.1, 0.0]])
eps = 1e-4


def variance_by_hand(z: torch.Tensor) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)  # per dimension, divisor N - 1
    return torch.clamp(1.0 - std, min=0.0).mean()  # hinge: only a std below 1 costs


def covariance_by_hand(z: torch.Tensor) -> torch.Tensor:
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (len(z) - 1)  # (D, D)
    off_diagonal = cov - torch.diag(torch.diag(cov))
    return (off_diagonal**2).sum() / z.shape[1]


invariance = ((v_a - v_b) ** 2).mean()
variance = (variance_by_hand(v_a) + variance_by_hand(v_b)) / 2
covariance = covariance_by_hand(v_a) + covariance_by_hand(v_b)
vicreg_by_hand = 25 * invariance + 25 * variance + 1 * covariance
torch.testing.assert_close(invariance, invariance_loss(v_a, v_b))
torch.testing.assert_close(variance, (variance_loss(v_a) + variance_loss(v_b)) / 2)
torch.testing.assert_close(covariance, covariance_loss(v_a) + covariance_loss(v_b))
torch.testing.assert_close(vicreg_by_hand, vicreg_loss(v_a, v_b))
centred = v_a - v_a.mean(dim=0)
print("per-dimension std of z_a:", v_a.std(dim=0).numpy().round(3))
print("covariance matrix of z_a:\n", (centred.T @ centred / (len(v_a) - 1)).numpy().round(3))
print(
    f"invariance {invariance:.4f}, variance {variance:.4f}, covariance {covariance:.4f}\n"
    f"25 x {invariance:.4f} + 25 x {variance:.4f} + 1 x {covariance:.4f} = "
    f"{vicreg_by_hand:.4f} = library vicreg_loss {vicreg_loss(v_a, v_b):.4f}"
)
weighted = {"invariance": 25 * invariance, "variance": 25 * variance, "covariance": covariance}
largest = max(weighted, key=lambda k: float(weighted[k]))
print(f"largest weighted term: {largest} ({float(weighted[largest]):.3f} of {vicreg_by_hand:.3f})")

# %% [markdown]
# ## 4. The CLIP loss, by hand
# The cross-modal objective of CLIP (Radford et al. 2021), ALIGN (Jia et al. 2021)
# and ConVIRT (Zhang et al. 2022) compares each EHR embedding only with the batch's
# X-ray embeddings (N candidates, no intra-modal negatives, unlike NT-Xent's 2N - 1).
# With s_ij = cos(ehr_i, cxr_j) / τ:
#
# - EHR -> X-ray: for each row i, the cross-entropy of softmax_j(s_ij) at j = i;
# - X-ray -> EHR: the same down each column;
# - loss = the mean of the two directions ("symmetric InfoNCE"). The temperature τ
#   sets how peaked the softmax is; ALIGN learns it (`CLIPLoss`, log-parametrised and
#   clamped at τ >= 0.01). `clip_loss(..., decoupled=True)` drops the positive from the
#   denominator, the variant MedMod's SimCLR and ALIGN trainers compute.
#
# Three stays, two dimensions, films that roughly match their own EHR. The last
# lines vary τ: when the pairs already match, a lower τ sharpens the softmax on the
# right partner and the loss falls; on random pairs it rises (exercise 2).

# %%
import math

from medmod_lib.losses import clip_loss

c_ehr = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])  # row i: the EHR of stay i
c_cxr = torch.tensor([[0.9, 0.2], [0.1, 1.0], [0.3, 0.8]])  # row i: the film of stay i
tau = 0.5
cosine = F.normalize(c_ehr, dim=1) @ F.normalize(c_cxr, dim=1).T  # (3, 3) EHR i vs film j
scaled = cosine / tau
ehr_to_cxr = -torch.log_softmax(scaled, dim=1).diagonal().mean()  # each EHR picks its film
cxr_to_ehr = -torch.log_softmax(scaled, dim=0).diagonal().mean()  # each film picks its EHR
clip_by_hand = (ehr_to_cxr + cxr_to_ehr) / 2
clip_library = clip_loss(c_ehr, c_cxr, logit_scale=1 / tau)
torch.testing.assert_close(clip_by_hand, clip_library)
print("cosine similarities (rows EHR, columns X-ray):\n", cosine.numpy().round(3))
print("P(its own film | EHR):", torch.softmax(scaled, dim=1).diagonal().numpy().round(3))
print("P(its own EHR | film):", torch.softmax(scaled, dim=0).diagonal().numpy().round(3))
print(
    f"EHR->X-ray {ehr_to_cxr:.4f}, X-ray->EHR {cxr_to_ehr:.4f}: by hand {clip_by_hand:.4f} = "
    f"library {clip_library:.4f} (chance, all logits equal: log 3 = {math.log(3):.4f})"
)
for t in (1.0, 0.5, 0.1, 0.07):
    print(f"  tau {t:4.2f}: loss {clip_loss(c_ehr, c_cxr, logit_scale=1 / t):.4f}")

# %% [markdown]
# ## 5. The paired stays
# Pretraining needs both modalities but no labels. With `train_pairs =
# "stay_images"` every AP film taken during a training-split stay is a pair, with
# that stay's EHR up to the film's time (never later): several times the
# in-hospital-mortality cohort's pairs, which keep only the latest film of the
# first 48 h (the cell's output gives both counts: `pretrain` and `train`). The
# probe is always fitted on those cohort pairs and scored on the validation and test
# pairs, whose subjects pretraining never sees. Unpaired stays are counted, not mixed
# in as blank images. Pretraining images get the augmentations of `train_preset`;
# probe images the deterministic transform.

# %%
from medmod_lib import workflow
from medmod_lib.pretrain.linked import PairData, linked_pairs

ehr, linked, cache = workflow.prepare_study(ctx.data_root, ctx.output_dir)
pair_settings = PairData(
    image_size=image_size,
    max_bins=max_bins,
    max_samples=max_samples,
    sample_seed=ctx.seed,
    train_pairs=train_pairs,
    train_preset=train_preset,
)
pairs = linked_pairs(linked, ehr, cache, pair_settings)
pairs

# %%
# NBVAL_CHECK_OUTPUT
for split in ("train", "val", "test"):
    c = pairs.counts[split]
    print(
        f"{split:5s}: {c.paired:4d} pairs ({pairs.positives[split]} died in hospital), "
        f"{c.unpaired_skipped} unpaired stays skipped"
    )
print(f"probe AUROC defined on val: {pairs.probe_scorable}")

# %% [markdown]
# ## 6. The baseline: a linear probe on random encoders
# A randomly initialised LSTM already produces features a logistic regression can
# fit (the cell prints how well); pretraining is only worth it if it beats this, with
# the same probe, seed and splits. The probe is fitted on the training pairs and
# scored on the held-out pairs: validation and test, each alone and pooled (the
# pooled score has the most deaths, so it is the steadiest of the three).

# %%
from medmod_lib.devices import seed_everything
from medmod_lib.pretrain import PretrainConfig, build_pretrain_model, probe_auroc

config = PretrainConfig(
    method=method,
    epochs=epochs,
    batch_size=batch_size,
    lr=learning_rate,
    cxr_arch=cxr_arch,
    ehr_hidden_dim=ehr_hidden_dim,
    seed=ctx.seed,
    device=ctx.device,
    amp="auto" if amp else "off",
    monitor=monitor,
    num_workers=num_workers,
)
from torch.utils.data import ConcatDataset, DataLoader

probe_train = pairs.loader("probe_train", batch_size=batch_size, num_workers=num_workers)
scored = {
    split: pairs.loader(split, batch_size=batch_size, num_workers=num_workers)
    for split in ("val", "test")
}
scored["held-out"] = DataLoader(
    ConcatDataset([pairs.val, pairs.test]), batch_size=batch_size, collate_fn=pairs.collate
)
seed_everything(ctx.seed)
random_model = build_pretrain_model(config).to(ctx.device)
random_auroc = {split: probe_auroc(random_model, probe_train, ld) for split, ld in scored.items()}
print("random encoders, probe AUROC: " + ", ".join(f"{k} {v:.3f}" for k, v in random_auroc.items()))

# %% [markdown]
# ## 7. Pretrain
# One training loop for every method (AdamW, warm-up then cosine, a checkpoint
# per epoch, resumable). After each epoch a linear probe on the frozen encoders
# gives the validation AUROC. MedMod selects the epoch by it (`monitor = "auto"`);
# here the default is the validation *loss*, which needs no labels, so the
# held-out mortality labels are used only for scoring and the comparison in
# step 11 is not tilted towards the pretrained encoders. (With "auto" and
# single-class validation pairs, as in tiny smoke data, the loss is used too.)

# %%
from medmod_lib.pretrain.runs import pretrain_dir, pretrain_linked, read_settings

run_dir = pretrain_dir(ctx.output_dir, method, ctx.seed)
result = pretrain_linked(pairs, config, out_dir=run_dir)
settings = read_settings(run_dir)
print(f"selected epoch {result.best_epoch} by {settings['monitor_reason']}")
print(f"checkpoint: {run_dir.relative_to(ctx.output_dir)}/best.pt")

# %% [markdown]
# ## 8. Loss terms and probe AUROC per epoch
# A pretraining that learns lowers the loss from its first epoch (the takeaways'
# last line says whether this run's did); VICReg's three terms are shown separately
# because they pull in different directions (the variance term rises when embeddings
# start to collapse). The row of the selected epoch is the checkpoint kept in
# `best.pt`.

# %%
from medmod_lib.pretrain.plots import epoch_table, plot_loss_terms
from medmod_lib.pretrain.runs import history_frame

history = history_frame(run_dir)
fig = plot_loss_terms(history, method)

# %%
per_epoch = epoch_table(history)
shown = [c for c in ("epoch", "loss", "val_loss", "val_auroc") if c in per_epoch]
print(per_epoch[shown].round(4).to_string(index=False))

# %% [markdown]
# ## 9. The embedding space
# A 2-D PCA of the held-out (validation and test) stays' EHR and X-ray embeddings
# in the shared projection space, coloured by in-hospital mortality. Read two things
# in each panel: whether the EHR and the X-ray points overlap (the modalities share a
# space) or form two separate clouds, and whether the deaths gather on one side (a
# direction a linear probe can use). Compare the pretrained panel with the random
# one; a projection of one held-out set can also show a pattern by chance, and
# exercise 1 puts a number on the second question.

# %%
from medmod_lib.pretrain.embed import embed, pair_similarity
from medmod_lib.pretrain.plots import plot_embedding_space

emb = {
    "random init": embed(random_model, scored["held-out"], projected=True),
    f"{method} pretrained": embed(result.model, scored["held-out"], projected=True),
}
fig = plot_embedding_space(emb, label_name="died")

# %% [markdown]
# ## 10. Paired vs unpaired stays
# The direct test of cross-modal alignment: if pretraining aligned the modalities, the
# cosine similarity between a stay's EHR and X-ray embeddings is higher than between
# the EHR of one stay and the X-ray of another (a seeded shuffle). The line after
# section 11's table gives the gap in means (paired minus unpaired) for both encoders.

# %%
from medmod_lib.pretrain.plots import plot_pair_similarity

similarity = {name: pair_similarity(e, seed=ctx.seed) for name, e in emb.items()}
fig = plot_pair_similarity(similarity)

# %% [markdown]
# ## 11. Does pretraining help the probe?
# The same probe (logistic regression on frozen EHR + X-ray encoder features of
# the training pairs, images through the deterministic transform) on the selected
# pretrained encoders and on the random ones.

# %%
import numpy as np
import pandas as pd

pretrained_auroc = {
    split: probe_auroc(result.model, probe_train, ld) for split, ld in scored.items()
}
table = pd.DataFrame({"random init": random_auroc, f"{method} pretrained": pretrained_auroc}).T
print("linear-probe AUROC, in-hospital mortality (EHR + X-ray encoder features):")
print(table.round(3).to_string())

# %%
first, last = per_epoch["loss"].iloc[0], per_epoch["loss"].iloc[-1]
gap = {name: float(np.mean(p) - np.mean(u)) for name, (p, u) in similarity.items()}
n_val, n_test = pairs.counts["val"].paired, pairs.counts["test"].paired
rows = [
    ("val_auroc", pretrained_auroc["val"], n_val),
    ("test_auroc", pretrained_auroc["test"], n_test),
    ("held_out_auroc", pretrained_auroc["held-out"], n_val + n_test),
    ("random_init_val_auroc", random_auroc["val"], n_val),
    ("random_init_test_auroc", random_auroc["test"], n_test),
    ("random_init_held_out_auroc", random_auroc["held-out"], n_val + n_test),
    ("loss_first_epoch", first, pairs.counts["pretrain"].paired),
    ("loss_last_epoch", last, pairs.counts["pretrain"].paired),
    ("pair_cosine_gap", gap[f"{method} pretrained"], n_val + n_test),
    ("best_epoch", float(result.best_epoch or np.nan), np.nan),
]
results = pd.DataFrame(
    {
        "task": "in-hospital-mortality",
        "method": method,
        "protocol": "pretrain-probe",
        "modality": "ehr+cxr",
        "seed": ctx.seed,
        "metric": [r[0] for r in rows],
        "value": [float(r[1]) for r in rows],
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n": [r[2] for r in rows],
    }
)
ctx.save_results(results, tag=method)
print(
    f"{method}: loss {first:.3f} (epoch 1) -> {last:.3f} (epoch {int(per_epoch['epoch'].iloc[-1])});"
    f" probe AUROC held-out {pretrained_auroc['held-out']:.3f} pretrained vs "
    f"{random_auroc['held-out']:.3f} random (test {pretrained_auroc['test']:.3f} vs "
    f"{random_auroc['test']:.3f}); paired-minus-unpaired cosine "
    f"{gap[f'{method} pretrained']:+.3f} pretrained vs {gap['random init']:+.3f} random"
)

# %% [markdown]
# ## Takeaways
# - Labels are scarce, (EHR, film) pairs are free: pretraining learns from the pairs,
#   and a linear probe on frozen features measures what it learnt, against the same
#   probe on random encoders.
# - The hand-written NT-Xent, VICReg terms and CLIP loss equal `nt_xent_loss`,
#   `vicreg_loss` (and its three terms) and `clip_loss` of `medmod_lib.losses`; from
#   there on the library's losses are used. In the VICReg toy the collapsed and the
#   duplicated dimensions, not the disagreement between views, make up the loss.
# - The line above quotes this run's numbers: the loss from the first to the last
#   epoch, the probe AUROC on pretrained vs random encoders, and how much closer a
#   stay's EHR and X-ray embeddings are than those of two different stays.
# - One seed's probe difference on a few hundred held-out pairs can be within noise
#   (the line below compares it with the noise of this run's held-out AUROC); notebook
#   03 checks the same comparison as a claim, with the paired-bootstrap interval of
#   the difference on the test stays.
#   Run `seeds: [0, 1, 2, 3, 4]` in an experiment before believing a difference.
# - Try `method = "simclr"` or `"align"` (or the runner's grid `{method: [simclr,
#   vicreg, align]}`); notebook 03 probes the checkpoint written here (same
#   `method`), notebook 06 reuses an ALIGN one.

# %%
from medmod_lib.metrics import auroc_half_width

held_out = pairs.counts["val"].paired + pairs.counts["test"].paired
deaths = int(pairs.positives["val"] + pairs.positives["test"])
width = auroc_half_width(
    max(min(pretrained_auroc["held-out"], 0.99), 0.51), deaths, held_out - deaths
)
delta = pretrained_auroc["held-out"] - random_auroc["held-out"]
print(
    f"- This run: {held_out} held-out pairs, {deaths} deaths; an AUROC there is known to about "
    f"+-{width:.2f}, and pretrained minus random is {delta:+.3f}"
    + (" (smaller than that: not resolved by this seed alone)." if abs(delta) < width else ".")
)
print(
    f"- The loss went from {first:.3f} to {last:.3f} "
    + ("(it fell: the objective was learnt)." if last < first else "(it did not fall).")
)

# %% [markdown]
# ## Exercises
# Predict first, then open the answer; the answer cells reuse this notebook's objects
# (`z_a`, `z_b`, `emb`, `linked`), so they hold for your run and settings.

# %% [markdown]
# ### Exercise 1: Colour the embedding by Support Devices
# Section 9 colours the held-out embeddings by in-hospital death. Colour them instead
# by the film's CheXpert label Support Devices (1 = tube, line or lead on the film).
# Which of the two labels do you expect the pretrained space to separate better, and
# why? Use the planted structure (`FINDINGS` and `MORTALITY_WEIGHTS` in
# `medmod_lib/synthetic/signal.py`, the intubation link of notebook 00).

# %% [markdown]
# <details><summary>Answer</summary>
#
# The planted structure predicts Support Devices. A cross-modal objective rewards
# what the EHR and the film have in common, and intubation is in both: the ET tube
# on every ICU film of a ventilated stay, "No Response-ETT" in the EHR's GCS;
# Support Devices also follows the shared factor, which both modalities see. Death
# depends as much on the neuro and metabolic factors, which the film barely shows,
# so its direction in the shared space is weaker. The cell redraws section 9's
# figure with the new colour and scores, for each label, how well the first
# principal component alone (the figure's x axis) separates the classes: the AUROC
# of the PC 1 score, taken direction-free as max(AUROC, 1 - AUROC), so 0.5 means no
# separation, and its last line says whether this run agrees with the prediction. On
# a few dozen held-out stays the numbers are noisy (and smoke runs learn nothing);
# compare the pretrained row with the random one, and rerun with more epochs or
# another `method` before concluding.
#
# </details>

# %% tags=["exercise-answer"]
import dataclasses

from medmod_lib import cxr
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

film_of_stay = (
    linked.cohort(pair_settings.task, "paired")
    .samples.drop_duplicates("stay_id")
    .set_index("stay_id")["study_id"]
)
devices = cxr.read_study_labels(ctx.data_root).set_index("study_id")["Support Devices"]


def support_devices(e):
    """1.0 where the stay's held-out film is labelled Support Devices = 1, else 0.0."""
    return (film_of_stay.reindex(e.stay_id).map(devices) == 1).to_numpy(np.float32)


def pc1_separation(e, y):
    both = np.concatenate([e.ehr, e.cxr])
    pc1 = PCA(n_components=1, random_state=0).fit_transform(both - both.mean(0))[:, 0]
    y2 = np.concatenate([y, y])
    if len(np.unique(y2)) < 2:
        return np.nan
    auc = roc_auc_score(y2, pc1)
    return max(auc, 1 - auc)


recoloured = {
    name: dataclasses.replace(e, labels=support_devices(e)[:, None]) for name, e in emb.items()
}
fig = plot_embedding_space(recoloured, label_name="Support Devices")
separation = pd.DataFrame(
    {
        name: {
            f"died (n={int(emb[name].labels[:, 0].sum())})": pc1_separation(
                emb[name], emb[name].labels[:, 0]
            ),
            f"Support Devices (n={int(recoloured[name].labels[:, 0].sum())})": pc1_separation(
                e, e.labels[:, 0]
            ),
        }
        for name, e in recoloured.items()
    }
).T
print(f"PC 1 separation (direction-free AUROC) on {len(emb['random init'])} held-out pairs:")
print(separation.round(3).to_string())
died_sep, devices_sep = separation.loc[f"{method} pretrained"]
print(
    "This run: the pretrained space separates Support Devices "
    + ("better" if devices_sep > died_sep else "no better")
    + f" than death ({devices_sep:.3f} vs {died_sep:.3f}); pretraining changed the Support "
    f"Devices separation by {devices_sep - separation.loc['random init'].iloc[1]:+.3f} over "
    "random encoders."
)

# %% [markdown]
# ### Exercise 2: Why is the random-pair loss above "chance"?
# Section 2 prints an NT-Xent loss for random pairs that is well above log(2N - 1),
# the loss of a softmax that cannot tell the candidates apart. Predict how the
# random-pair loss changes as the temperature τ grows from 0.05 to 10, and explain the
# gap at τ = 0.1.

# %% [markdown]
# <details><summary>Answer</summary>
#
# log(2N - 1) is the loss when all 2N - 1 candidates get the *same* logit. Random
# vectors have cosine similarities scattered around 0, and dividing by a small τ
# stretches that scatter: the softmax becomes peaked on whichever candidate happens
# to be most similar, which is rarely the (random) partner, so the cross-entropy is
# far above log(2N - 1). As τ grows the logits flatten and the loss approaches
# log(2N - 1); as τ shrinks it grows roughly like 1 / τ. So "chance" depends on τ:
# compare a trained model's loss with the random-pair loss *at the same
# temperature*, not with log(2N - 1). The cell computes the loss for several τ,
# then gives a slider over τ that draws one anchor's softmax over its 2N - 1
# candidates, for the random pairs and for nearly equal pairs: watch the partner's
# share, and the loss, as the softmax sharpens or flattens.
#
# </details>

# %% tags=["exercise-answer"]
import math

print(f"N = {len(z_a)} pairs, log(2N - 1) = {math.log(2 * len(z_a) - 1):.3f}")
for tau in (0.05, 0.1, 0.5, 1.0, 10.0):
    random_pairs = nt_xent_loss(z_a, z_b, temperature=tau)
    print(f"  tau {tau:5.2f}: random-pair loss {random_pairs:.3f}")

from IPython.display import display

near = z_a + 0.05 * torch.randn(z_a.shape, generator=torch.Generator().manual_seed(ctx.seed))
toy = {"random pairs": (z_a, z_b), "nearly equal pairs": (z_a, near)}
display(viz.temperature_explorer(toy, default=0.1))

# %% [markdown]
# ### Exercise 3: What stops VICReg from collapsing?
# VICReg has no negatives, so mapping every input to the same point would make the
# invariance term zero. Predict the three unweighted terms for a batch in which every
# embedding of both views is the same vector, then compute them with
# `medmod_lib.losses.vicreg_terms` and compare with the random batch of section 2.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Invariance is 0 (the two views are equal) and covariance is 0 (nothing varies, so
# nothing co-varies), but the variance term is at its maximum: each dimension's
# standard deviation is 0 instead of at least 1, so the hinge max(0, 1 - std) is
# (almost) 1 in every dimension (the `eps` inside the square root keeps it just
# below 1). Weighted by 25, that term alone makes collapse expensive; the covariance
# term then stops the dimensions from all carrying the same feature. On the random
# batch expect a small variance term (random normal dimensions have std about 1, so
# the hinge rarely bites) and a large invariance term (the views are unrelated); the
# cell prints both rows.
#
# </details>

# %% tags=["exercise-answer"]
from medmod_lib.losses import vicreg_terms

collapsed = torch.ones(16, 8)
for name, (a, b) in {"collapsed": (collapsed, collapsed), "random": (z_a, z_b)}.items():
    terms = vicreg_terms(a, b)
    print(f"{name:9s} " + ", ".join(f"{k} {float(v):.3f}" for k, v in terms.items()))
