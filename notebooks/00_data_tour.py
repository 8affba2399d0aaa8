# %% [markdown]
# # 00 Data tour: MIMIC-IV and MIMIC-CXR-JPG
# What the two databases are, which of their tables and columns the kit reads,
# and what one ICU stay looks like: its vital signs, the chest X-rays taken
# during the stay, and its labels. Reads the data root; writes the processed
# EHR folder and the image cache into `output_dir` (reused by later notebooks).

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - name the two PhysioNet releases (MIMIC-IV, MIMIC-CXR-JPG), what each holds and
#   what their access and data use agreement require of you;
# - state, for each of the five tasks, when its score is made, from which data, how
#   it is labelled and who would act on it;
# - say which tables and variables the kit reads and how a stay becomes the 48 x 76
#   model input (measured, carried-forward and normal-value cells, masks);
# - place a stay's vital signs and its chest X-rays on one time axis and read its
#   labels: stay-level mortality and phenotypes, study-level CheXpert findings;
# - check whether the stays that have films are a random sample of the cohort.
#
# **Prerequisites.** Python and pandas (filtering, `groupby`, merges); what an ICU
# stay and a chest X-ray are. No earlier notebook: this is the first one.
#
# **Time.** About 20 s to run on 2 CPU cores in the default `cpu` profile (the first
# run of a data root also generates and prepares it); about 20 minutes to read, plus
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
# - **Access**: both need PhysioNet credentialed access (section 2). See
#   `data_cards/mimic_iv.md` and `data_cards/mimic_cxr_jpg.md`.
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
# ## 2. Ethics and data use
# MIMIC is the record of real patients, released on conditions; those conditions
# bind everything this kit computes from it, so they come before the first cell
# that reads the data.
#
# - **Credentialed access.** MIMIC-IV and MIMIC-CXR-JPG are PhysioNet
#   *credentialed* projects: each user needs a PhysioNet account with identity
#   verification, completed human-subjects training (CITI "Data or Specimens Only
#   Research"), and a signed data use agreement (DUA) for each project. Access is
#   personal: never pass on the files, a copy, or your login, not even to a colleague;
#   they apply for their own.
# - **No re-identification.** The DUA forbids any attempt to identify a patient or
#   a care provider, including by linking the records to other data. If you come
#   across something that looks identifying, stop and report it to PhysioNet.
# - **No online services.** Never send MIMIC-derived text or data to an online
#   service that is not covered by the agreement: chatbots and hosted language
#   models, online translators, paste sites, web-based plotting or AutoML tools.
#   That includes the clinical prompts that notebook 06 builds from a stay's
#   charted values: encode them only with local models (PhysioNet's guidance on
#   the responsible use of MIMIC with online services such as GPT says the same).
# - **Derived results are covered too.** Reports, figures, tables, checkpoints and
#   exported folders made from real data are derived data under the DUA: keep them
#   on machines you are allowed to use for MIMIC, share them only with credentialed
#   users, and publish aggregates only. The cells that show one patient are tagged
#   `patient-level`; on real data the runner's reports drop their outputs (see
#   section 8).
# - **Cite the data.** Johnson et al., MIMIC-IV (*Scientific Data* 2023) and
#   MIMIC-CXR-JPG (arXiv 1901.07042, 2019), and PhysioNet (Goldberger et al.,
#   *Circulation* 2000).
#
# None of this restricts the kit's synthetic data, which describes no one; the
# habits are worth keeping with it all the same.

# %% [markdown]
# ## 3. The tables and columns the kit reads
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
# ## 4. What this data root holds
# Sizes and label rates tell you at a glance whether the data is what you expect
# (and, on the synthetic data, which generator settings made it).

# %%
from medmod_lib.synthetic import summarize
from medmod_lib.synthetic.writer import read_manifest

synthetic_data = read_manifest(ctx.data_root) is not None
if synthetic_data:
    print(summarize(ctx.data_root))
else:  # real data: counting chartevents rows would take minutes; the processed EHR reports sizes
    print(f"Data root {ctx.data_root} (not generated by the kit): sizes follow in step 5.")

# %% [markdown]
# ## 5. Prepare the EHR and the image cache
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
# ## 6. Five prediction tasks
# The same ICU stay feeds five tasks that differ in *when* the score is made, what
# it may look at, and who could use it; a model is only as useful as that moment.
# The table is built from the kit's own task rules (`medmod_lib/ehr/tasks.py`), its
# linking rules (`LinkingRule`) and label lists (`medmod_lib/reference.py`), so it
# states what the code does; "acted on by" is the clinical framing. Note the
# phenotyping row: its labels are the ICD codes assigned *at discharge*, so that
# task is retrospective (it describes a finished stay, it cannot warn anyone), and a
# model that is good at it has learnt to code, not to foresee. The last column
# counts this data root's samples.

# %%
from medmod_lib.reference import Task

task_overview = viz.task_table()
here = {t: len(ehr.samples(t)) for t in ehr.tasks}
labelled = images["study_id"].isin(chexpert["study_id"]) & (images["ViewPosition"] == "AP")
here[Task.RADIOLOGY.value] = int(labelled.sum())  # AP films whose study has labels
task_overview["samples here"] = pd.Series(here)
with pd.option_context("display.max_colwidth", 70):
    display(task_overview)
hourly = [Task.DECOMPENSATION.value, Task.LENGTH_OF_STAY.value]
per_stay = sum(here.get(t, 0) for t in hourly) / max(2 * len(ehr.stays), 1)
print(
    f"The hourly tasks give about {per_stay:.0f} samples per cohort stay; mortality and "
    f"phenotyping one each ({here.get(Task.IN_HOSPITAL_MORTALITY.value, 0)} and "
    f"{here.get(Task.PHENOTYPING.value, 0)} here): hourly samples of one stay are "
    "strongly correlated, so their count overstates the information."
)

# %% [markdown]
# ## 7. The 17 variables
# Every EHR model in the kit sees the same 17 charted variables of the benchmark
# (Harutyunyan et al., *Scientific Data* 2019; `YerevaNN/mimic3-benchmarks`), encoded
# by its discretizer config (`medmod_lib/resources/discretizer_config.json`): 12
# continuous channels take one column each, 5 categorical ones a one-hot block, and
# an hour without a measurement is filled with the last value or, before the first
# one, the *normal value* below. The table comes from that config and the item map;
# the last column is measured on this data root: the share of the first 48 hours of
# the mortality cohort in which the variable was charted.

# %%
from medmod_lib.ehr.tasks import IHM_HOURS

ihm_stays = ehr.samples(Task.IN_HOSPITAL_MORTALITY)["stay_id"]
n_bins = int(IHM_HOURS)
probe = ihm_stays.sample(min(len(ihm_stays), 2000), random_state=ctx.seed)  # caps real-data reads
share = viz.measured_share((ehr.inputs(s, n_bins) for s in probe), ehr.header)
variables = viz.variable_table()
variables[f"measured (share of hours, first {n_bins} h)"] = share.round(3)
with pd.option_context("display.max_colwidth", 60):
    display(variables)
often, rarely = share.idxmax(), share.idxmin()
print(
    f"{variables['one-hot columns'].sum()} one-hot + {(variables['type'] == 'continuous').sum()}"
    f" continuous columns + {len(variables)} masks = {len(ehr.header)} input columns. "
    f"Charted most often: {often} ({share[often]:.0%} of hours); least: {rarely} "
    f"({share[rarely]:.0%}); over all 17, {1 - share.mean():.0%} of the hours are imputed."
)

# %% [markdown]
# ## 8. One patient's timeline
# Multimodal models see a stay as vitals over time plus the X-rays taken while it
# lasted; drawing both on one time axis shows what "linking" will mean in `01_linking`.
#
# **What may be shared.** On real MIMIC data, a stay's ids, films, vitals and labels are
# patient-level data under the data use agreement (section 2): never post them, paste
# them into an online service or commit them. The cells that show one patient are
# tagged `patient-level`; on real data the runner's reports drop their outputs, redact
# identifiers and the data path, and carry a data-use notice (`--private` keeps
# everything, for your own machine only).

# %% tags=["patient-level"]
chosen = int(stay_id) if stay_id is not None else viz.pick_stay(ehr, images)
shots = viz.stay_images(ehr, chosen, images)
print(f"stay {chosen}: {len(shots)} X-ray image(s) taken between intime and outtime")
print(shots[["study_id", "ViewPosition", "hours_from_intime"]].round(2).to_string(index=False))
fig = viz.plot_stay_timeline(ehr, chosen, images=images, cache=cache, max_images=max_images)

# %% [markdown]
# ## 9. Its labels
# Each task predicts something different about the same stay: mortality, the 25
# phenotypes (from ICD codes), or the 14 findings of each X-ray study. Under each
# film are its study's findings (+ positive, ? uncertain); on the synthetic data the
# generator drew them, and the figure says so, so that no screenshot passes for a
# real report.

# %% tags=["patient-level"]
labels = viz.stay_labels(ehr, chosen, stay_images=shots, chexpert=chexpert)
print(viz.format_labels(labels))

# %% tags=["patient-level"]
if len(shots):
    first8 = shots.head(8)
    titles = [f"+{r.hours_from_intime:.1f} h {r.ViewPosition}" for r in first8.itertuples()]
    fig = viz.show_films_with_findings(
        cache, first8, chexpert, synthetic=synthetic_data, titles=titles
    )

# %% [markdown]
# ## 10. What the model sees: one stay's 48 x 76 input
# A mortality model never sees the timeline above, only a grid: 48 hourly rows,
# 59 value columns and 17 masks. Drawing which cells were measured and which were
# filled in shows how much of that grid is observation (the line under the figure
# counts each kind for this stay). The stay is the one above
# if it is in the mortality cohort (LOS of at least 48 h), else the cohort's first.
#
# The rule, written out: for each channel and hour, a measurement in that hour
# (right-closed bins, the last value wins) sets the cell and the mask to 1;
# otherwise the cell repeats the channel's previous value, or its normal value if
# there was none yet, and the mask is 0. `viz.input_status` recovers those three
# kinds from the array alone.

# %% tags=["patient-level"]
shown = chosen if chosen in set(ihm_stays) else int(ihm_stays.min())
x = ehr.inputs(shown, n_bins)  # float32 (48, 76), before normalisation
fig = viz.plot_input_status(
    x, ehr.header, title=f"stay {shown}: the first {n_bins} h as the model receives them"
)
hours = viz.status_summary(x, ehr.header)
cells = hours.to_numpy().sum()
never = hours.index[hours["measured"] == 0].tolist()
print(
    f"stay {shown}: of {cells} channel-hours, {hours['measured'].sum()} measured "
    f"({hours['measured'].sum() / cells:.0%}), {hours['carried forward'].sum()} carried "
    f"forward, {hours['normal value'].sum()} at the normal value."
)
print(f"never measured in these {n_bins} h: {', '.join(never) or 'none'}")

# %% [markdown]
# ## 11. Explore other stays
# One stay is an anecdote; the explorer lets you flip through the stays that have
# X-rays. Choose an outcome (died in hospital, survived, or all) and a stay: it draws
# the stay's timeline and prints its labels, starting with the stay above. Deaths are
# the rarer outcome, so where more than 200 stays have a film it lists a seeded
# sample with as many deaths as survivors. It needs a live Jupyter session; an
# executed report keeps only the static figures above.

# %% tags=["patient-level"]
explorer = viz.stay_explorer(ehr, images, cache, chexpert=chexpert, default=chosen, seed=ctx.seed)
display(explorer)
listed = viz.explorer_stays(ehr, images, seed=ctx.seed)
print(
    f"The explorer lists {len(listed)} stays with a film "
    f"({int(listed['mortality_inhospital'].sum())} died in hospital); it opens on stay "
    f"{chosen}, drawn above."
)

# %% [markdown]
# ## 12. Summary
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
#   findings (uncertain = -1, not mentioned = blank). Phenotypes come from discharge
#   ICD codes, so that task is retrospective.
# - The lines below are this run's numbers on how much of the model input is measured.
# - Real MIMIC data, and everything derived from it, stays under the data use
#   agreement: credentialed users only, no re-identification, no online services.
# - Next: `01_linking` builds the linked cohorts and explains their sizes.

# %%
measured_all = float(share.mean())
print(
    f"- Across {len(probe)} mortality-cohort stays, {measured_all:.0%} of the "
    f"{len(share)} x {n_bins} channel-hours were measured; the rest is imputation, "
    "which the 17 mask columns let a model tell apart."
)
print(
    f"- {len(with_images)} of {len(ehr.stays)} stays have a film during the stay "
    f"({len(with_images) / len(ehr.stays):.0%}); the others reach a multimodal model "
    "without an image (the partial cohorts of `01_linking`)."
)

# %% [markdown]
# ## Exercises
# Try each question before you open its answer; where the answer is computed, the
# code cell after it reads this notebook's own objects (`ehr`, `images`, `chexpert`,
# `with_images`), so it holds for whatever data root you ran.

# %% [markdown]
# ### Exercise 1: Which stays get a film?
# Section 12 counts the cohort stays with an X-ray taken during the stay. Are they a
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
