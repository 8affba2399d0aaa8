"""The 17 benchmark variables from ``chartevents`` and ``labevents``, cleaned in DuckDB.

Rules, each counted in the :class:`~medmod_lib.ehr.reader.SkipLog`. The variables
and itemids are those of YerevaNN/mimic3-benchmarks
``mimic3benchmark/resources/itemid_to_variable_map.csv`` (MetaVision and lab rows);
conversions are keyed on itemid because the unit tests of MedFuse's MIMIC-IV port
(nyuad-cai/MedFuse ``mimic4extract/mimic3benchmark/preprocessing.py``) never fire
for degF or inches:

* itemids from ``mimic_iv_itemids_17vars.csv``; capillary refill found in
  ``icu/d_items`` (labels starting "Capillary Refill", ``linksto`` chartevents);
* chartevents are matched to stays by ``stay_id``; labevents (no ``stay_id``)
  by ``subject_id`` and ``charttime`` within ``[intime, outtime]`` (and the
  same ``hadm_id`` when the lab has one);
* unit conversions by itemid: 223761 degF -> degC, 226707 in -> cm,
  226531 lb -> kg; FiO2 > 1 divided by 100; SpO2 <= 1 times 100;
* continuous value = ``valuenum``, else ``value`` if numeric, else skipped;
* categorical text matched to the config values ignoring case and whitespace;
  capillary refill "Normal..."/"Brisk..." -> "0.0", "Abnormal..."/"Delayed..." -> "1.0";
* optional physiological range filter (drop values outside OUTLIER LOW/HIGH);
* optional blood-only labs: urine and other-fluid glucose/pH items (by
  ``d_labitems.fluid``) dropped and counted;
* exact duplicate rows dropped; several values of one channel at one
  charttime resolved as mimic3-benchmarks does (the largest number for the ten
  channels it casts to float, the largest value string for the others);
* optional GCS total = eye + verbal + motor when all three share a charttime
  (a recorded total at that time, if an item map provides one, is kept instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import reference
from .reader import TIMESTAMP_SQL_FORMAT, MimicIVReader, SkipLog, into_sql

GCS_TOTAL = "Glascow coma scale total"
GCS_PARTS = (
    "Glascow coma scale eye opening",
    "Glascow coma scale verbal response",
    "Glascow coma scale motor response",
)
CRR = "Capillary refill rate"
#: Unit conversions by itemid: SQL expression of ``v``.
CONVERSIONS = {
    223761: "({v} - 32.0) * 5.0 / 9.0",  # Temperature Fahrenheit -> Celsius
    226707: "{v} * 2.54",  # Height (inches) -> cm
    226531: "{v} * 0.453592",  # Admission Weight (lbs.) -> kg
}
#: Channel-level rescaling applied after the itemid conversions.
RESCALE = {
    "Fraction inspired oxygen": "CASE WHEN {v} > 1 THEN {v} / 100.0 ELSE {v} END",
    "Oxygen saturation": "CASE WHEN {v} <= 1 THEN {v} * 100.0 ELSE {v} END",
}
#: Capillary refill text prefixes (lower case) -> benchmark category.
CRR_PREFIXES = {"normal": "0.0", "brisk": "0.0", "abnormal": "1.0", "delayed": "1.0"}
EVENTS_TABLE = "medmod_events"
CHANNELS = reference.channels()
CHANNEL_CODE = {c: k for k, c in enumerate(CHANNELS)}


@dataclass(frozen=True)
class VariableConfig:
    """Switches of the variable extraction; defaults fix the reference gaps.

    Attributes:
        find_capillary_refill: look up capillary refill itemids in ``d_items``.
            ``False`` reproduces the reference (channel never observed).
        derive_gcs_total: derive GCS total from its three components.
            ``False`` reproduces the reference (channel never observed).
            Intubated patients (verbal "No Response-ETT" = 1) get low totals.
        range_filter: drop values outside ``variable_ranges.csv`` OUTLIER
            LOW/HIGH (the reference keeps them: "outlier detection is disabled").
        use_labevents: also read the lab itemids (glucose, pH, SpO2).
        blood_only_labs: keep only lab items whose ``d_labitems.fluid`` is
            "Blood". The benchmark's map also reads urine glucose (51478) and
            urine and other-fluid pH (51491, 51094, 50831) into the blood
            channels; ``False`` (default) keeps them, as the benchmark does.
            Dropped rows are counted.
    """

    find_capillary_refill: bool = True
    derive_gcs_total: bool = True
    range_filter: bool = True
    use_labevents: bool = True
    blood_only_labs: bool = False


@dataclass
class ExtractStats:
    """What the extraction found: per-channel counts and the items it used."""

    events_per_channel: dict[str, int] = field(default_factory=dict)
    range_dropped: dict[str, int] = field(default_factory=dict)
    unknown_values: dict[str, dict[str, int]] = field(default_factory=dict)
    crr_itemids: list[int] = field(default_factory=list)
    non_blood_itemids: list[int] = field(default_factory=list)
    gcs_total_derived: int = 0
    chartevents_rows: int = 0
    labevents_rows: int = 0


def normalise_text(text: str) -> str:
    """Lower case with collapsed whitespace (the key used to match category text)."""
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def _sql_norm(col: str) -> str:
    return f"lower(trim(regexp_replace({col}, '\\s+', ' ', 'g')))"


def capillary_refill_itemids(reader: MimicIVReader) -> pd.DataFrame:
    """Chartevents itemids whose ``d_items`` label starts "Capillary Refill" (any case)."""
    q = (
        "SELECT itemid, label FROM "
        f"{reader.scan('d_items', ['itemid', 'label', 'linksto'])} "
        "WHERE lower(label) LIKE 'capillary refill%' AND lower(linksto) = 'chartevents' "
        "ORDER BY itemid"
    )
    return reader.sql(q, "d_items")


def category_map() -> pd.DataFrame:
    """``ch, key, code``: normalised GCS text -> category index (config one-hot order)."""
    rows = []
    for ch in CHANNELS:
        if not reference.is_categorical(ch) or ch == CRR:
            continue
        seen: set[str] = set()
        for code, value in enumerate(reference.possible_values(ch)):
            key = normalise_text(value)
            if key in seen:  # keep the first config spelling of a key
                continue
            seen.add(key)
            rows.append((CHANNEL_CODE[ch], key, code))
    return pd.DataFrame(rows, columns=["ch", "key", "code"]).astype(
        {"ch": "int16", "code": "int16"}
    )


def _item_table(reader: MimicIVReader, config: VariableConfig, stats: ExtractStats) -> pd.DataFrame:
    items = reference.itemid_map()[["variable", "itemid", "table"]].rename(
        columns={"variable": "channel"}
    )
    if config.find_capillary_refill:
        crr = capillary_refill_itemids(reader)
        stats.crr_itemids = [int(i) for i in crr["itemid"]]
        extra = pd.DataFrame({"channel": CRR, "itemid": crr["itemid"], "table": "chartevents"})
        items = pd.concat([items, extra], ignore_index=True)
    items["itemid"] = items["itemid"].astype("int64")
    items["categorical"] = items["channel"].map(reference.is_categorical)
    items["ch"] = items["channel"].map(CHANNEL_CODE).astype("int16")
    return items


def _raw_select(ids: list[int], cat_ids: list[int], extra: str) -> str:
    """Parse, filter by itemid and flag bad cells of a chart/lab scan (``{scan}`` placeholder)."""
    fmt = TIMESTAMP_SQL_FORMAT
    cats = ", ".join(str(i) for i in cat_ids) or "NULL"
    return f"""
        SELECT {extra} itemid, t,
            CASE WHEN t IS NULL THEN coalesce(charttime, '<empty>') END AS t_bad,
            vn,
            CASE WHEN itemid NOT IN ({cats}) AND valuenum IS NOT NULL AND vn IS NULL
                 THEN valuenum END AS vn_bad,
            CASE WHEN itemid IN ({cats}) OR vn IS NULL THEN value END AS value
        FROM (SELECT *, try_strptime(charttime, '{fmt}') AS t,
                     TRY_CAST(valuenum AS DOUBLE) AS vn
              FROM {{scan}} WHERE itemid IN ({", ".join(str(i) for i in ids)}))"""


#: ``code`` of a row of the events table; only ``KEPT`` rows reach the hourly pass.
#: (Rows of stays outside the cohort are counted per part and not stored.)
KEPT, BAD_TIME, BAD_VALUE, OUT_OF_RANGE, NOT_BLOOD = range(5)


def _convert_select(source: str, config: VariableConfig) -> str:
    """Numbers, unit conversions, category codes and the row ``code`` over ``source``.

    ``source`` yields ``stay_id, hours, itemid, vn, value, status`` of cohort stays
    (``status``: ``KEPT`` with a valid time, else ``BAD_TIME``). The result is
    narrow (``stay_id, hours, itemid, ch, v, code, bad``; 4-byte ids): ``bad`` holds
    the raw text of values that are neither numbers nor known categories.
    """
    conv = " ".join(f"WHEN {i} THEN {e.format(v='v1')}" for i, e in CONVERSIONS.items())
    rescale = " ".join(
        f"WHEN {CHANNEL_CODE[ch]} THEN {e.format(v='v0')}" for ch, e in RESCALE.items()
    )
    crr_values = reference.possible_values(CRR)
    crr = " ".join(
        f"WHEN starts_with(norm, '{p}') THEN {crr_values.index(v)}" for p, v in CRR_PREFIXES.items()
    )
    in_range = "(r.lo IS NULL OR (x.v BETWEEN r.lo AND r.hi))" if config.range_filter else "TRUE"
    return f"""
        SELECT CAST(x.stay_id AS INTEGER) AS stay_id, x.hours, CAST(x.itemid AS INTEGER) AS itemid,
               x.ch, x.v,
               CAST(CASE WHEN x.status <> {KEPT} THEN x.status
                    WHEN x.v IS NULL THEN {BAD_VALUE}
                    WHEN NOT {in_range} THEN {OUT_OF_RANGE} ELSE {KEPT} END AS UTINYINT) AS code,
               CASE WHEN x.status = {KEPT} AND x.v IS NULL THEN coalesce(x.value, '<empty>')
               END AS bad
        FROM (
          SELECT e.stay_id, e.hours, e.itemid, i.ch, e.status, e.value,
            CASE WHEN e.status <> {KEPT} THEN NULL
                 WHEN i.categorical THEN CAST(
                   CASE WHEN i.channel = '{CRR}' THEN (CASE {crr} END) ELSE m.code END AS DOUBLE)
                 ELSE (CASE i.ch {rescale} ELSE v0 END) END AS v
          FROM (SELECT *, CASE itemid {conv} ELSE v1 END AS v0, {_sql_norm("value")} AS norm
                FROM (SELECT *, coalesce(vn, TRY_CAST(value AS DOUBLE)) AS v1 FROM ({source}))) e
          JOIN items i USING (itemid)
          LEFT JOIN medmod_catmap_df m ON i.categorical AND m.ch = i.ch AND m.key = e.norm
        ) x LEFT JOIN medmod_ranges_df r USING (ch)"""


def _register(reader: MimicIVReader, stays: pd.DataFrame, items: pd.DataFrame) -> None:
    con = reader.con
    con.register("medmod_items_df", items)
    con.execute("CREATE OR REPLACE TEMP TABLE items AS SELECT * FROM medmod_items_df")
    cohort = stays[["stay_id", "subject_id", "hadm_id", "intime", "outtime"]]
    con.register("medmod_cohort_df", cohort)
    con.execute("CREATE OR REPLACE TEMP TABLE cohort AS SELECT * FROM medmod_cohort_df")
    icu_ids = reader.sql(f"SELECT DISTINCT stay_id FROM {reader.scan('icustays', ['stay_id'])}")
    con.register("medmod_icu_df", icu_ids)
    con.execute("CREATE OR REPLACE TEMP TABLE all_stays AS SELECT * FROM medmod_icu_df")
    con.register("medmod_catmap_df", category_map())
    rng = reference.variable_ranges()[["OUTLIER LOW", "OUTLIER HIGH"]]
    rng = rng.loc[[c for c in CHANNELS if not reference.is_categorical(c)]]
    ranges = pd.DataFrame(
        {
            "ch": [CHANNEL_CODE[c] for c in rng.index],
            "lo": rng["OUTLIER LOW"].to_numpy(float),
            "hi": rng["OUTLIER HIGH"].to_numpy(float),
        }
    ).astype({"ch": "int16"})
    con.register("medmod_ranges_df", ranges)


def extract_events(
    reader: MimicIVReader,
    stays: pd.DataFrame,
    config: VariableConfig | None = None,
    skips: SkipLog | None = None,
) -> ExtractStats:
    """Build the DuckDB table ``medmod_events`` in one pass over chartevents and labevents.

    One row per event of a cohort stay (events of other stays are counted in
    ``skips``, not stored): ``stay_id, hours`` (from intime), ``itemid``, ``ch`` (index in
    :func:`reference.channels`), ``v`` (value after unit conversion, or the
    category index in the config's one-hot order), ``code`` (:data:`KEPT` or
    the rule the row fails) and ``bad`` (text of an unusable value). Rows that
    fail a rule are counted in ``skips``; :func:`fetch_events` returns the kept
    ones. Duplicates, same-time values and the GCS total are
    handled per chunk by :func:`medmod_lib.ehr.events.clean_chunk`.

    Args:
        reader: the MIMIC-IV release (its connection receives the table).
        stays: cohort stays with ``stay_id, subject_id, hadm_id, intime, outtime``.
        config: extraction switches.
        skips: where dropped rows are counted.
    """
    config = config or VariableConfig()
    skips = skips if skips is not None else SkipLog()
    stats = ExtractStats()
    items = _item_table(reader, config, stats)
    _register(reader, stays, items)
    cat_ids = items.loc[items["categorical"], "itemid"].tolist()
    chart_ids = items.loc[items["table"] == "chartevents", "itemid"].tolist()
    need = ["stay_id", "itemid", "charttime", "value", "valuenum"]
    # Rows of stays outside the cohort are only counted, never stored.
    chart = f"""
        SELECT e.stay_id, epoch(e.t - k.intime) / 3600.0 AS hours, e.itemid, e.vn, e.value,
               CASE WHEN e.t IS NULL THEN {BAD_TIME} ELSE {KEPT} END AS status
        FROM chart e JOIN cohort k USING (stay_id)"""
    converted = _convert_select(chart, config)
    elsewhere = """
        SELECT count(*) FILTER (WHERE a.stay_id IS NULL) AS outside, count(a.stay_id) AS other
        FROM chart e ANTI JOIN cohort k USING (stay_id) LEFT JOIN all_stays a USING (stay_id)"""
    not_stored = np.zeros(2, dtype=np.int64)

    def convert(part: int) -> None:  # bad cells counted, joins and conversions of one part
        _count_bad(reader, "chartevents", "chart", skips)
        not_stored[:] += reader.con.execute(elsewhere).fetchone()
        reader.execute(into_sql(EVENTS_TABLE, append=part > 0) + converted)

    # Parse + itemid filter, then convert, part by part: one part's raw rows at a time.
    reader.load(
        "chartevents", need, _raw_select(chart_ids, cat_ids, "stay_id,"), "chart", each=convert
    )
    reader.execute("DROP TABLE chart")
    stored = reader.sql(f"SELECT count(*) AS n FROM {EVENTS_TABLE}")["n"].iloc[0]
    stats.chartevents_rows = int(stored + not_stored.sum())
    outside, other = (int(n) for n in not_stored)
    skips.add("chartevents", "stay_id missing or not in icustays (outside any stay)", outside)
    skips.add("chartevents", "stay not in the cohort (cohort filter, expected)", other)

    lab_ids = items.loc[items["table"] == "labevents", "itemid"].tolist()
    if config.use_labevents and lab_ids:
        need = ["subject_id", "hadm_id", "itemid", "charttime", "value", "valuenum"]
        select = _raw_select(lab_ids, cat_ids, "subject_id, hadm_id,")
        select += " WHERE subject_id IN (SELECT subject_id FROM cohort)"
        # labevents has free-text comments that may span lines: no chunking.
        reader.execute(
            "CREATE OR REPLACE TEMP TABLE lab AS "
            + select.format(scan=reader.scan("labevents", need)),
            "labevents",
        )
        _count_bad(reader, "labevents", "lab", skips)
        labs = f"""
            SELECT k.stay_id, epoch(l.t - k.intime) / 3600.0 AS hours, l.itemid, l.vn, l.value,
                   {KEPT} AS status
            FROM lab l JOIN cohort k
              ON l.subject_id = k.subject_id AND l.t BETWEEN k.intime AND k.outtime
             AND (l.hadm_id IS NULL OR l.hadm_id = k.hadm_id)"""
        n_before = int(reader.sql(f"SELECT count(*) AS n FROM {EVENTS_TABLE}")["n"].iloc[0])
        reader.execute(f"INSERT INTO {EVENTS_TABLE} " + _convert_select(labs, config))
        n_after = int(reader.sql(f"SELECT count(*) AS n FROM {EVENTS_TABLE}")["n"].iloc[0])
        if config.blood_only_labs:
            _drop_non_blood(reader, lab_ids, stats, skips)
        stats.labevents_rows = int(reader.sql("SELECT count(*) AS n FROM lab")["n"].iloc[0])
        skips.add(
            "labevents",
            "not within a cohort ICU stay (expected: most labs are outside the ICU)",
            stats.labevents_rows - (n_after - n_before),
        )
        reader.execute("DROP TABLE lab")
    _count_values(reader, stats, skips)
    return stats


def non_blood_lab_itemids(reader: MimicIVReader, itemids: list[int]) -> list[int]:
    """The ``itemids`` whose ``hosp/d_labitems`` fluid is not "Blood" (urine, other fluids).

    Raises:
        MimicLayoutError: the release has no ``d_labitems`` (needed to know the fluids).
        ValueError: an itemid is not listed in ``d_labitems``.
    """
    fluids = reader.table("d_labitems", ["itemid", "fluid"])
    fluid = dict(zip(fluids["itemid"].astype("int64"), fluids["fluid"], strict=True))
    missing = sorted(i for i in itemids if i not in fluid)
    if missing:
        raise ValueError(
            f"lab itemids {missing} are not in {reader.path('d_labitems')}: cannot tell their "
            "fluid for blood_only_labs; use the unmodified PhysioNet d_labitems"
        )
    return sorted(int(i) for i in itemids if str(fluid[i]).strip().lower() != "blood")


def _drop_non_blood(
    reader: MimicIVReader, lab_ids: list[int], stats: ExtractStats, skips: SkipLog
) -> None:
    """Mark the stored lab events of non-blood items ``NOT_BLOOD`` and count them per item."""
    drop = non_blood_lab_itemids(reader, lab_ids)
    stats.non_blood_itemids = drop
    if not drop:
        return
    ids = ", ".join(str(i) for i in drop)
    per = reader.sql(
        f"""SELECT itemid, count(*) AS n FROM {EVENTS_TABLE}
            WHERE itemid IN ({ids}) AND code = {KEPT} GROUP BY itemid ORDER BY itemid"""
    )
    reader.execute(
        f"UPDATE {EVENTS_TABLE} SET code = {NOT_BLOOD} WHERE itemid IN ({ids}) AND code = {KEPT}"
    )
    for r in per.itertuples():
        skips.add(
            "labevents",
            f"not a blood sample (blood_only_labs): itemid {int(r.itemid)}",
            int(r.n),
        )


def _count_bad(reader: MimicIVReader, table: str, src: str, skips: SkipLog) -> None:
    for col, reason in (("t_bad", "unparseable charttime"), ("vn_bad", "non-numeric valuenum")):
        df = reader.sql(
            f"SELECT count({col}) AS n, "
            f"(list({col}) FILTER (WHERE {col} IS NOT NULL))[1:5] AS ex FROM {src}"
        )
        ex = df["ex"].iloc[0]
        examples = [str(e) for e in ex] if isinstance(ex, (list, np.ndarray)) else []
        skips.add(table, reason, int(df["n"].iloc[0]), examples)


def _count_values(reader: MimicIVReader, stats: ExtractStats, skips: SkipLog) -> None:
    per = reader.sql(
        f"""SELECT ch, count(bad) AS nbad, count(*) FILTER (WHERE code = {OUT_OF_RANGE}) AS out,
               (list(bad) FILTER (WHERE bad IS NOT NULL))[1:5] AS ex
        FROM {EVENTS_TABLE} WHERE code IN ({KEPT}, {BAD_VALUE}, {OUT_OF_RANGE})
        GROUP BY ch ORDER BY ch"""
    )
    for r in per.itertuples():
        ch = CHANNELS[int(r.ch)]
        ex = [str(e) for e in r.ex] if isinstance(r.ex, (list, np.ndarray)) else []
        what = (
            f"unknown text value of {ch}"
            if reference.is_categorical(ch)
            else f"non-numeric value of {ch}"
        )
        skips.add("events", what, int(r.nbad), ex)
        if r.out:
            stats.range_dropped[ch] = int(r.out)
            skips.add("events", f"{ch} outside the physiological range (range_filter)", int(r.out))
    unknown = reader.sql(
        f"""SELECT ch, bad, count(*) AS n FROM {EVENTS_TABLE}
        WHERE bad IS NOT NULL GROUP BY ALL ORDER BY ch, n DESC, bad"""
    )
    for ch, grp in unknown.groupby("ch"):
        if not reference.is_categorical(CHANNELS[int(ch)]):
            continue
        stats.unknown_values[CHANNELS[int(ch)]] = {str(r.bad): int(r.n) for r in grp.itertuples()}


def fetch_events(reader: MimicIVReader, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Kept events of stays with ``lo <= stay_id <= hi`` as numpy arrays (unsorted).

    Returns:
        ``stay_id`` int64, ``hours`` float64, ``itemid`` int64, ``ch`` int16, ``v`` float64.
    """
    out = reader.con.execute(
        f"""SELECT CAST(stay_id AS BIGINT) AS stay_id, hours, CAST(itemid AS BIGINT) AS itemid,
               ch, v FROM {EVENTS_TABLE}
        WHERE code = {KEPT} AND stay_id BETWEEN {int(lo)} AND {int(hi)}"""
    ).fetchnumpy()
    return {k: np.asarray(v) for k, v in out.items()}
