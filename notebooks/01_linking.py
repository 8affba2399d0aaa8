# %% [markdown]
# # 01 Linking: ICU stays to chest X-rays, one documented rule per task
# Builds (or reuses) the processed EHR folder, the linked cohorts and the image
# cache in `output_dir`, explains each task's linking rule, and answers the
# question users ask most: why do my cohort sizes differ? It shows the cohort
# flow, the paired and partial sizes, label prevalences, when X-rays are taken
# and the subject-leakage check, and writes a data card of the linked cohort.
# With real data, set `data_root` (or `MEDMOD_DATA_ROOT`); nothing else changes.

# %% [markdown]
# **Learning objectives.** After this notebook you can:
# - state each task's linking rule (window, views, which film is kept) and explain why
#   a window must end at the prediction time;
# - read a cohort flow and say where samples are lost, step by step;
# - tell the paired cohort from the partial one, and say why validation and test are
#   never thinned;
# - check a split for subject leakage, and recognise the error when it happens;
# - recompute a cohort size yourself with a `LinkingRule`.
#
# **Prerequisites.** `00_data_tour` (the two databases, one stay's timeline); pandas
# timestamps and merges; the idea of train / validation / test splits.
#
# **Time.** About 20 s to run on 2 CPU cores in the default `cpu` profile (it reuses
# 00's processed data); about 20 minutes to read, plus the exercises.

# %% tags=["parameters"]
data_root = None  # None: $MEDMOD_DATA_ROOT, else the synthetic data
output_dir = None  # None: <output root>/runs/interactive (shared by all notebooks)
seed = 0
device = "auto"  # unused here: nothing is trained
smoke = False  # True: tiny settings, seconds per notebook (tests)
tasks = None  # tasks to show, e.g. ["in-hospital-mortality"]; None: every linked task

# %%
from medmod_lib import notebook, viz

ctx = notebook.setup(
    name="01_linking",
    seed=seed,
    device=device,
    data_root=data_root,
    output_dir=output_dir,
    smoke=smoke,
)
viz.use_style()

# %% [markdown]
# ## 1. Prepare the EHR, the linked cohorts and the image cache
# Linking needs the processed EHR (stays, task samples, subject split) and the
# X-ray metadata; each step is reused from `output_dir` when an earlier notebook
# of the run built it from the same inputs, so this cell is quick the second time.

# %%
from medmod_lib import workflow
from medmod_lib.reference import Task

workflow.ensure_data(ctx.data_root)
ehr = workflow.ensure_processed(ctx.data_root, ctx.output_dir)
linked = workflow.ensure_linked(ehr, ctx.data_root, ctx.output_dir)
cache = workflow.ensure_image_cache(ctx.data_root, ctx.output_dir)
shown = [Task.parse(t).value for t in (tasks or linked.config["tasks"])]
missing = sorted(set(shown) - set(linked.config["tasks"]))
if missing:
    raise ValueError(f"tasks {missing} were not linked; linked: {linked.config['tasks']}")
print(ehr)
print(linked)
print(cache)

# %% [markdown]
# ## 2. The linking rules
# An ICU sample is linked to X-rays of the same subject whose study time falls in
# the task's window; the window must end where the prediction is made, or a model
# would see an image from the future. Each rule is an object, printed here and
# saved with its cohort.

# %%
rules = {}
for cohort in linked.cohorts.values():
    rules.setdefault(cohort.task.value, cohort.rule)
for task in shown:
    print(rules[task].describe())
print()
print(linked.cohort(shown[0], "paired" if shown[0] != "radiology" else "radiology"))

# %% [markdown]
# The same toy stay (120 h, prediction time of the hourly tasks at 70 h) under
# each rule: both window ends are inclusive (the image at exactly 48 h belongs to
# in-hospital mortality), a PA image is never linked with the default AP-only
# views, and among the images in the window the latest is kept.

# %%
fig = viz.plot_linking_windows(
    [rules[t] for t in shown],
    study_hours=[-6, 0, 20, 48, 60, 90, 130],
    study_views=["AP", "AP", "AP", "AP", "PA", "AP", "AP"],
    los_hours=120,
    prediction_hour=70,
)

# %% [markdown]
# ## 3. The cohort flow
# Counts after every step, from all ICU stays to the linked cohort, show exactly
# where samples are lost: cohort filters (EHR), no X-ray at all, no X-ray in the
# window, the wrong view. This is the table to compare with a paper's numbers.

# %%
print("EHR cohort (stays):")
print(ehr.cohort_flow.to_string(index=False))

# %%
import pandas as pd

flow = linked.flow[linked.flow["stage"] == "linking"]
keys = [f"{t}/paired" for t in shown if t != "radiology"]
keys += [f"{t}/{m}" for t in shown if t == "radiology" for m in ("paired", "radiology")]
flow = flow[flow["task"].isin(keys)]
order = pd.MultiIndex.from_frame(flow[["task", "step"]].drop_duplicates())
wide = flow.pivot_table(index=["task", "step"], columns="split", values="count")
wide.reindex(order)[["all", "train", "val", "test"]].astype(int)

# %%
from medmod_lib.linking.report import plot_flow

grid = plot_flow(flow)

# %% [markdown]
# ## 4. Paired and partial cohort sizes
# `paired` keeps samples with an image; `partial` keeps every EHR sample and adds
# the image where there is one (in training, a deterministic `data_ratio` share of
# the unpaired samples; validation and test keep them all, so model selection
# sees the same mix as the test set).

# %%
sizes = linked.sizes()
sizes = sizes[sizes.index.str.split("/").str[0].isin(shown)]
sizes.reindex(columns=["train", "val", "test"], level=1)

# %% [markdown]
# ## 5. Label prevalences per split
# A split with very different prevalence from training makes metrics hard to
# compare; with a subject-level split they should be close (and noisy on small data).

# %%
from medmod_lib.linking.report import label_prevalence

for task in shown:
    for mode in ("paired", "partial", "radiology"):
        key = f"{task}/{mode}"
        if key not in linked.cohorts:
            continue
        cohort = linked.cohorts[key]
        prevalence = label_prevalence(cohort)
        if prevalence.empty:  # length of stay: 10 classes, show the mean class per split
            means = cohort.samples.groupby("split")["los_bucket"].mean()
            means = means.reindex(["train", "val", "test"]).round(2)
            print(f"{key}: mean LOS bucket per split {means.to_dict()}", end="\n\n")
            continue
        print(f"{key}: positive rate per split ({len(prevalence)} label(s), first 6 shown)")
        print(prevalence.head(6).round(3).to_string(), end="\n\n")

# %% [markdown]
# ## 6. When are X-rays taken?
# The window decides which images count, so the distribution of time from ICU
# admission to the linked image shows how much each rule restricts (in-hospital
# mortality stops at 48 h; the hourly tasks can only use images taken before the
# prediction time). Exercise 1 gives you a slider over the mortality window.

# %%
paired = {
    k: c for k, c in linked.cohorts.items() if k.split("/")[0] in shown and c.mode.value == "paired"
}
fig = viz.plot_hours_from_intime(paired)
hours = pd.DataFrame(
    {
        k: c.samples.drop_duplicates(["stay_id", "dicom_id"])["hours_from_intime"].describe()
        for k, c in paired.items()
    }
).T
hours[["count", "50%", "max"]].round(1)

# %% [markdown]
# ## 7. The leakage check
# One subject-level split serves both modalities; a subject whose stays or images
# land in two splits would leak information from training into the test set. The
# check runs on every cohort and on the image table, and fails loudly.

# %%
from medmod_lib.linking import LeakageError, check_no_leakage

for cohort in linked.cohorts.values():
    check_no_leakage(cohort.samples, linked.images)
print(f"no subject in two splits: {len(linked.cohorts)} cohorts and {len(linked.images)} images")

# %% [markdown]
# Now plant an overlap, as happens when an X-ray split file from another source
# is mixed in: one training subject's image is labelled `test`.

# %%
planted = linked.images.copy()
subject = int(planted.loc[planted["split"] == "train", "subject_id"].min())
planted.loc[planted.index[planted["subject_id"] == subject][:1], "split"] = "test"
try:
    check_no_leakage(ehr.stays, planted)
    print("no leakage found (unexpected)")
except LeakageError as err:
    print(f"LeakageError: {err}")

# %% [markdown]
# ## 8. The data card of the linked cohort
# A generated card (rules, flow, sizes, prevalences) travels with the cohort, so a
# reader of your results can see exactly what was linked and how.

# %%
from medmod_lib.linking.report import write_cohort_card

card = write_cohort_card(
    ctx.output_dir / "data_card_linked_cohort.md",
    title="linked EHR + X-ray cohort",
    source=f"{ehr.root} + {ctx.data_root}",
    ehr_flow=ehr.cohort_flow,
    cohorts={k: c for k, c in linked.cohorts.items() if k.split("/")[0] in shown},
)
text = card.read_text().splitlines()
print(f"wrote {card.name} ({len(text)} lines); its rules section:")
print("\n".join(line for line in text if line.startswith("- ")))

# %% [markdown]
# ## 9. Summary
# Cohort sizes per task and mode that must not change for the same data and settings.

# %%
# NBVAL_CHECK_OUTPUT
for key in sorted(linked.cohorts):
    if key.split("/")[0] in shown:
        s = linked.cohorts[key].sizes()
        counts = " ".join(f"{sp}={s.loc[sp, 'total']}/{s.loc[sp, 'paired']}" for sp in s.index)
        print(f"{key:32s} total/paired: {counts}")

# %% [markdown]
# ## Takeaways
# - Each task links X-rays through its own window: 48 h for in-hospital mortality,
#   the whole stay for phenotyping and radiology, and never past the prediction time
#   for decompensation and length of stay. Both ends are inclusive; AP only; latest image.
# - The cohort flow says where samples are lost; compare it, not just the final
#   size, with a paper's numbers (MIMIC versions and the 48 h rule change sizes).
# - `partial` cohorts keep every EHR sample; validation and test are never thinned.
# - One subject-level split serves EHR and X-rays; the leakage check fails loudly.
# - Next: `02_pretraining` pretrains encoders on these linked pairs.

# %% [markdown]
# ## Exercises
# Predict first, then open the answer; the answer cells recompute with this
# notebook's objects (`ehr`, `linked`, `rules`), so they hold for your data root.

# %% [markdown]
# ### Exercise 1: A 24 h window for in-hospital mortality
# The mortality rule links films taken up to 48 h after ICU admission. Suppose the
# prediction were made after 24 h instead, so the window closes at intime + 24 h.
# Predict how many mortality samples would still be paired (about half? most?) using
# section 6's histogram of film times, then recompute the count with the linking rule.

# %% [markdown]
# <details><summary>Answer</summary>
#
# On the synthetic data expect most of them, not half. Films cluster early in a stay
# (the generator takes about two thirds of a stay's first ICU film within 24 h, as
# happens in real ICUs), and a sample needs only one film in the window. What
# changes more is *which* film a sample gets: the latest film before 24 h instead of
# before 48 h, further from the outcome. The cell links every AP film in the 48 h
# window (`choice="all"`), keeps those at most 24 h after intime, and counts samples
# per split; the 48 h count reproduces the cohort's paired size, as a check of the
# recomputation. Below the table, a slider moves the window (it may open before ICU
# admission or close after 48 h) and recounts the paired samples per split; a window
# that closes after the prediction time is flagged as leakage.
#
# </details>

# %% tags=["exercise-answer"]
import dataclasses

mortality = ehr.samples("in-hospital-mortality")
every_film = dataclasses.replace(rules["in-hospital-mortality"], choice="all")
films = every_film.link(mortality, linked.images)  # one row per (sample, AP film in 0-48 h)
windows = {
    "48 h (the rule)": films,
    "24 h": films[films["hours_from_intime"] <= 24],
}
counts = pd.DataFrame(
    {
        name: mortality.loc[part["sample"].unique(), "split"].value_counts()
        for name, part in windows.items()
    }
).reindex(["train", "val", "test"])
counts.loc["all"] = counts.sum()
print(counts.fillna(0).astype(int).to_string())
print(f"paired cohort on disk: {len(linked.cohort('in-hospital-mortality', 'paired').samples)}")

from IPython.display import display

display(viz.linking_window_explorer(mortality, linked.images, views=every_film.views))

# %% [markdown]
# ### Exercise 2: Let PA films in
# The rules keep AP films only, as the benchmark does. How many more mortality samples
# would be paired if PA films counted too? Predict, then recompute with
# `LinkingRule.for_task("in-hospital-mortality", views=("AP", "PA"))`.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Few or none. ICU films are taken at the bedside with a portable machine, which
# gives AP films; PA (and lateral) films are taken standing in the radiology
# department. The synthetic generator writes PA films only for outpatient studies,
# months away from any ICU stay (`medmod_lib/synthetic/cxr.py`), so here they add
# nothing inside a window; on real MIMIC a few do. Keeping one view also matters for
# the models: AP films magnify the heart, so mixing views changes what
# "cardiomegaly" looks like. The cell counts the samples under both rules.
#
# </details>

# %% tags=["exercise-answer"]
from medmod_lib.linking import LinkingRule

for views in [("AP",), ("AP", "PA")]:
    rule = LinkingRule.for_task("in-hospital-mortality", views=views)
    linked_samples = rule.link(mortality, linked.images)["sample"].nunique()
    print(f"views {'/'.join(views):6s}: {linked_samples} of {len(mortality)} samples paired")

# %% [markdown]
# ### Exercise 3: The latest film or the first?
# Among the films in a sample's window every rule keeps the latest. For in-hospital
# mortality, predict how the median time from ICU admission to the linked film would
# change with `choice="first"`, and argue which film a mortality model should see.

# %% [markdown]
# <details><summary>Answer</summary>
#
# With `first` the median moves earlier (only samples with two or more films in the
# window change). The latest film is the one closest to the prediction time (48 h),
# so it shows the patient's state when the prediction is made, and it is what
# MedFuse did; the first film, often taken at admission, describes the state that
# brought the patient in. Neither may come from after the window end. The cell
# compares the two choices.
#
# </details>

# %% tags=["exercise-answer"]
for choice in ("latest", "first"):
    rule = dataclasses.replace(rules["in-hospital-mortality"], choice=choice)
    hours = rule.link(mortality, linked.images)["hours_from_intime"]
    print(f"keep {choice:6s}: median {hours.median():.1f} h after intime ({len(hours)} samples)")
