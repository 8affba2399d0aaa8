# %% [markdown]
# # 00 Data tour: MIMIC-IV and MIMIC-CXR-JPG
# What the two databases are, which of their tables and columns the kit reads,
# and what one ICU stay looks like: its vital signs, the chest X-rays taken
# during the stay, and its labels. Reads the data root; writes the processed
# EHR folder and the image cache into `output_dir` (reused by later notebooks).

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - name the two PhysioNet releases (MIMIC-IV, MIMIC-CXR-JPG), what each holds and
#   what their access requires;
# - say which tables and columns the kit reads, and what each is used for;
# - place a stay's vital signs and its chest X-rays on one time axis, using the
#   shared `subject_id` and date shift;
# - read a stay's labels: stay-level mortality and phenotypes, study-level CheXpert
#   findings (1 / 0 / -1 uncertain / blank);
# - check whether the stays that have films are a random sample of the cohort.
#
# **Prerequisites.** Python and pandas (filtering, `groupby`, merges); what an ICU
# stay and a chest X-ray are. No earlier notebook: this is the first one.
#
# **Time.** About 15 s to run on 2 CPU cores in the default `cpu` profile (the first
# run of a data root also generates and prepares it); about 15 minutes to read, plus
# the exercises at the end.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # unused here: nothing is trained
smoke = False  # True: tiny settings, seconds per notebook (tests)
stay_id = None  # stay to show; None: a stay with X-rays taken during it, chosen deterministically
max_images = 4  # X-ray thumbnails under the timeline

# %%
from medmod_lib import notebook, viz

ctx = notebook.setup(
    name="00_data_tour",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)
viz.use_style()

# %% [markdown]
# ## 1. The two databases
# Everything in the kit starts from two credentialed PhysioNet releases that share
# their patients, so knowing what each one holds explains every later step.
#
# - **MIMIC-IV** (v2.2 / v3.1): de-identified electronic health records of patients
#   admitted to Beth Israel Deaconess Medical Center, Boston: admissions, ICU stays,
#   charted vital signs (`icu/chartevents`), lab results (`hosp/labevents`) and
#   diagnoses (ICD codes). About 94,000 ICU stays in v3.1.
# - **MIMIC-CXR-JPG** (2.0.0 / 2.1.0): 377,110 chest radiographs (JPEG) in 227,835
#   studies of about 65,000 patients, with 14 findings per study extracted from the
#   radiology reports by the CheXpert and NegBio labelers (1 positive, 0 negative,
#   -1 uncertain, blank not mentioned).
# - **Access**: both need PhysioNet credentialed access (an account, CITI "Data or
#   Specimens Only Research" training, the signed data use agreement). Never copy or
#   share the files. See `data_cards/mimic_iv.md` and `data_cards/mimic_cxr_jpg.md`.
# - **Why they link**: `subject_id` is the same person in both, and dates are shifted
#   by the same per-patient offset, so an X-ray's `StudyDate` + `StudyTime` compares
#   directly with an ICU stay's `intime` and `outtime`.
#
# Without credentialed data the kit generates a synthetic dataset in exactly the
# real on-disk layout; this notebook runs unchanged on either. The kit finds the
# release folders below the data root:

# %%
from medmod_lib import paths, workflow

workflow.ensure_data(ctx.data_root)  # generates the synthetic default on first use
print("MIMIC-IV:     ", paths.mimic_iv_root(ctx.data_root))
print("MIMIC-CXR-JPG:", paths.mimic_cxr_root(ctx.data_root))

# %% [markdown]
# ## 2. The tables and columns the kit reads
# A reader that knows the exact file names and column order fails loudly on a
# wrong download instead of silently reading the wrong column; this is that list
# (`medmod_lib.schema`), with what each file is used for.

# %%
import pandas as pd
from IPython.display import display
from medmod_lib import schema

USED_FOR = {
    "patients": "age, sex, date of death",
    "admissions": "admission times, in-hospital death",
    "diagnoses_icd": "25 phenotype labels (ICD codes)",
    "d_icd_diagnoses": "ICD code titles",
    "labevents": "lab variables (glucose, pH)",
    "d_labitems": "lab item names",
    "icustays": "ICU stays: intime, outtime, LOS",
    "chartevents": "charted vitals (the 17 variables)",
    "d_items": "chart item names",
    "mimic-cxr-2.0.0-metadata": "image ids, view, study date and time",
    "mimic-cxr-2.0.0-chexpert": "14 findings per study (CheXpert labeler)",
    "mimic-cxr-2.0.0-negbio": "14 findings per study (NegBio labeler)",
    "mimic-cxr-2.0.0-split": "official split (replaced by the EHR subject split)",
}
rows = [
    ("MIMIC-IV", f"{module}/{table}.csv.gz", cols)
    for module, tables in schema.MIMIC_IV.items()
    for table, cols in tables.items()
]
rows += [("MIMIC-CXR-JPG", f"{stem}.csv.gz", cols) for stem, cols in schema.MIMIC_CXR.items()]
tables = pd.DataFrame(
    [
        {
            "release": release,
            "file": file,
            "columns": len(cols),
            "first columns": ", ".join(list(cols)[:6]) + (", ..." if len(cols) > 6 else ""),
            "used for": USED_FOR.get(file.split("/")[-1].removesuffix(".csv.gz"), ""),
        }
        for release, file, cols in rows
    ]
)
with pd.option_context("display.max_colwidth", 80):
    display(tables)

# %% [markdown]
# ## 3. What this data root holds
# Sizes and label rates tell you at a glance whether the data is what you expect
# (and, on the synthetic data, which generator settings made it).

# %%
from medmod_lib.synthetic import summarize
from medmod_lib.synthetic.writer import read_manifest

if read_manifest(ctx.data_root) is not None:
    print(summarize(ctx.data_root))
else:  # real data: counting chartevents rows would take minutes; the processed EHR reports sizes
    print(f"Data root {ctx.data_root} (not generated by the kit): sizes follow in step 4.")

# %% [markdown]
# ## 4. Prepare the EHR and the image cache
# The raw tables are turned once into a processed folder (cohort, hourly inputs,
# task labels, splits) and every X-ray is decoded once into a cache; later
# notebooks of the same run reuse both from `output_dir`.

# %%
from medmod_lib import cxr

ehr = workflow.ensure_processed(ctx.data_root, ctx.output_dir)
cache = workflow.ensure_image_cache(ctx.data_root, ctx.output_dir)
images = cxr.load_metadata(ctx.data_root, views=None)  # every view, for the timeline
chexpert = cxr.read_study_labels(ctx.data_root)  # raw labels: 1 / 0 / -1 / NaN per study
print(ehr)
print(cache)
ehr.cohort_flow

# %% [markdown]
# ## 5. One patient's timeline
# Multimodal models see a stay as vitals over time plus the X-rays taken while it
# lasted; drawing both on one time axis shows what "linking" will mean in `01_linking`.
#
# **What may be shared.** On real MIMIC data, a stay's ids, films, vitals and labels are
# patient-level data under the PhysioNet data use agreement: never post them, paste them
# into an online service (chatbots included) or commit them. The cells that show one
# patient are tagged `patient-level`; on real data the runner's reports drop their
# outputs, redact identifiers and the data path, and carry a data-use notice
# (`--private` keeps everything, for your own machine only). Aggregate results remain
# covered by the agreement too. The synthetic data has no such limits.

# %% tags=["patient-level"]
chosen = int(stay_id) if stay_id is not None else viz.pick_stay(ehr, images)
shots = viz.stay_images(ehr, chosen, images)
print(f"stay {chosen}: {len(shots)} X-ray image(s) taken between intime and outtime")
print(shots[["study_id", "ViewPosition", "hours_from_intime"]].round(2).to_string(index=False))
fig = viz.plot_stay_timeline(ehr, chosen, images=images, cache=cache, max_images=max_images)

# %% [markdown]
# ## 6. Its labels
# Each task predicts something different about the same stay: mortality, the 25
# phenotypes (from ICD codes), or the 14 findings of each X-ray study.

# %% tags=["patient-level"]
labels = viz.stay_labels(ehr, chosen, stay_images=shots, chexpert=chexpert)
print(viz.format_labels(labels))

# %% tags=["patient-level"]
if len(shots):
    first8 = shots.head(8)
    titles = [f"+{r.hours_from_intime:.1f} h {r.ViewPosition}" for r in first8.itertuples()]
    fig = viz.show_xrays(cache, first8["dicom_id"].tolist(), titles=titles)

# %% [markdown]
# ## 7. Explore other stays
# One stay is an anecdote; the explorer lets you flip through the stays that have
# X-rays. It needs a live Jupyter session (the dropdown does nothing in an
# executed report, where the figures above carry the content).

# %% tags=["patient-level"]
explorer = viz.stay_explorer(ehr, images, cache, chexpert=chexpert, default=chosen)
display(explorer)
print(f"Choose a stay above to draw it (the static figures show stay {chosen}).")

# %% [markdown]
# ## 8. Summary
# A few numbers that must not change for the same data: the cohort size, how many
# stays have an X-ray during the stay, and the stay shown here.

# %%
# NBVAL_CHECK_OUTPUT
with_images = viz.stays_with_images(ehr, images)
print(f"cohort stays: {len(ehr.stays)}")
print(f"stays with an X-ray during the stay: {len(with_images)}")
print(f"X-ray images: {len(images)} in {images['study_id'].nunique()} studies")
died = labels["mortality_inhospital"]
print(f"stay shown: {chosen} ({len(shots)} images, in-hospital death {died})")

# %% [markdown]
# ## Takeaways
# - MIMIC-IV and MIMIC-CXR-JPG share `subject_id` and the date shift, so X-ray study
#   times can be placed on an ICU stay's timeline.
# - Only some stays have an X-ray during the stay, and often several: which image a
#   sample gets is a rule, made explicit in `01_linking`.
# - Labels differ by task: stay-level mortality and phenotypes, study-level CheXpert
#   findings (uncertain = -1, not mentioned = blank).
# - Next: `01_linking` builds the linked cohorts and explains their sizes.

# %% [markdown]
# ## Exercises
# Try each question before you open its answer; where the answer is computed, the
# code cell after it reads this notebook's own objects (`ehr`, `images`, `chexpert`,
# `with_images`), so it holds for whatever data root you ran.

# %% [markdown]
# ### Exercise 1: Which stays get a film?
# Section 8 counts the cohort stays with an X-ray taken during the stay. Are they a
# random sample of the cohort? Predict whether their in-hospital mortality and their
# length of stay are higher, lower or the same as those of the stays without a film,
# then compare the two groups with `ehr.stays` and `with_images`.

# %% [markdown]
# <details><summary>Answer</summary>
#
# They are not a random sample. The generator draws the number of ICU films of a
# stay from a Poisson distribution whose rate grows with ventilation and with the
# length of stay (`_studies` in `medmod_lib/synthetic/cxr.py`), and ventilation is
# more likely in the sicker stays (shared, lung and neuro factors, which also raise
# the risk of death). Real ICUs behave the same way: films are ordered for the
# patients who need them. So expect the stays with a film to be longer and to die
# more often; the cell below gives both groups' numbers for this data root. Every
# paired cohort of `01_linking` inherits this selection, and `04_missing_modality`
# comes back to it: a missing film is not missing at random.
#
# </details>

# %% tags=["exercise-answer"]
has_film = ehr.stays["stay_id"].isin(with_images.index)
groups = has_film.map({True: "with an X-ray", False: "without an X-ray"}).rename("stays")
compare = ehr.stays.groupby(groups).agg(
    n=("stay_id", "size"),
    died_in_hospital=("mortality_inhospital", "mean"),
    median_los_days=("los", "median"),
)
print(compare.round(3).to_string())

# %% [markdown]
# ### Exercise 2: Find the planted intubation link
# In the synthetic data a ventilated stay is visible in both modalities: the EHR
# charts the GCS verbal response as "No Response-ETT" and every ICU film of the stay
# shows the endotracheal tube (CheXpert finding Support Devices). Predict the share
# of studies labelled Support Devices = 1 among the studies taken during stays with
# "No Response-ETT" charted, and among the studies of the other stays. Then compute
# both from `ehr.timeseries()`, `images` and `chexpert`.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Expect nearly every study of the "No Response-ETT" stays to be positive (the tube
# is drawn on every ICU film of a ventilated stay; only the report noise,
# `FINDING_FLIP` in `signal.py`, and studies without a label row get in the way) and
# a much smaller share for the other stays (other lines and leads, which follow the
# acuity). The same fact is in both modalities, so a model asked for Support Devices
# can read it off the GCS text without looking at the film: a *shortcut*.
# Cross-modal pretraining (notebook 02) can find this link, and any result on
# Support Devices should be read with it in mind. The cell computes both shares.
#
# </details>

# %% tags=["exercise-answer"]
from medmod_lib.linking import LinkingRule

verbal = ehr.timeseries()[["stay_id", "Glascow coma scale verbal response"]]
ett_stays = set(verbal.loc[verbal.iloc[:, 1] == "No Response-ETT", "stay_id"])
all_views = tuple(images["ViewPosition"].dropna().unique())
during = LinkingRule.for_task("phenotyping", views=all_views, choice="all").link(
    ehr.stays.set_index("stay_id", drop=False), images
)  # every film taken during a stay; `sample` is the stay_id
studies = during.drop_duplicates(["sample", "study_id"]).merge(
    chexpert[["study_id", "Support Devices"]], on="study_id", how="left"
)
charted = studies["sample"].isin(ett_stays)
for name, part in studies.groupby(charted.map({True: "charted", False: "not charted"})):
    share = (part["Support Devices"] == 1).mean()
    print(
        f'"No Response-ETT" {name:11s}: {part["sample"].nunique():4d} stays, {len(part):4d} '
        f"studies, Support Devices = 1 in {share:.0%}"
    )

# %% [markdown]
# ### Exercise 3: Uncertain findings
# The radiology labels are 1, 0, -1 (uncertain) or blank (not mentioned). Which
# findings do you expect to be reported uncertain most often, and why does that
# matter for training? Rank the 14 findings by their share of -1 among the studies
# that mention them.

# %% [markdown]
# <details><summary>Answer</summary>
#
# The generator reports a *faint* finding (drawn with low intensity) as uncertain
# half the time (`FINDING_UNCERTAIN` in `medmod_lib/synthetic/signal.py`), as
# radiologists hedge on subtle signs; so the findings that are often faint when
# present (small or rare ones) rank high, and the ones that are drawn large and
# clearly rank low. Uncertain labels must get a policy before training: the kit's
# default (`label_policy="zeros"`, notebook 01) counts them as negative, which
# makes the uncertain-heavy findings the noisiest targets. The cell ranks them.
#
# </details>

# %% tags=["exercise-answer"]
findings = chexpert.drop(columns=["subject_id", "study_id"])
mentioned = findings.notna().sum()
uncertain = (findings == -1).sum() / mentioned.clip(lower=1)
ranking = pd.DataFrame({"mentioned": mentioned, "uncertain share": uncertain.round(3)})
print(ranking.sort_values("uncertain share", ascending=False).to_string())
