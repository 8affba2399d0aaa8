"""The 17 benchmark variables from ``chartevents`` and ``labevents``, cleaned in DuckDB.

Rules (FACTS §3), each counted in the :class:`~medmod_lib.ehr.reader.SkipLog`:

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
* exact duplicate rows dropped; several values of one channel at one
  charttime resolved as mimic3-benchmarks does (the largest value string wins);
* optional GCS total = eye + verbal + motor when all three share a charttime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import reference
from .reader import TIMESTAMP_SQL_FORMAT, MimicIVReader, SkipLog

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
    """

    find_capillary_refill: bool = True
    derive_gcs_total: bool = True
    range_filter: bool = True
    use_labevents: bool = True


@dataclass
class ExtractStats:
    """What the extraction found: per-channel counts and the items it used."""

    events_per_channel: dict[str, int] = field(default_factory=dict)
    range_dropped: dict[str, int] = field(default_factory=dict)
    unknown_values: dict[str, dict[str, int]] = field(default_factory=dict)
    crr_itemids: list[int] = field(default_factory=list)
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
    """``channel, key, value, score``: normalised text -> config category (+ GCS score)."""
    rows = []
    for ch in reference.channels():
        if not reference.is_categorical(ch) or ch == CRR:
            continue
        scores = reference.gcs_scores(ch)
        seen: set[str] = set()
        for value in reference.possible_values(ch):
            key = normalise_text(value)
            if key in seen:  # keep the first config spelling of a key
                continue
            seen.add(key)
            rows.append((ch, key, value, scores.get(value)))
    return pd.DataFrame(rows, columns=["channel", "key", "value", "score"])


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
    return items


def _raw_select(scan: str, ids: list[int], cat_ids: list[int], extra: str) -> str:
    fmt = TIMESTAMP_SQL_FORMAT
    cats = ", ".join(str(i) for i in cat_ids) or "NULL"
    return f"""
        SELECT {extra} itemid,
            try_strptime(charttime, '{fmt}') AS t,
            CASE WHEN try_strptime(charttime, '{fmt}') IS NULL
                 THEN coalesce(charttime, '<empty>') END AS t_bad,
            TRY_CAST(valuenum AS DOUBLE) AS vn,
            CASE WHEN itemid NOT IN ({cats}) AND valuenum IS NOT NULL
                  AND TRY_CAST(valuenum AS DOUBLE) IS NULL THEN valuenum END AS vn_bad,
            CASE WHEN itemid IN ({cats}) OR TRY_CAST(valuenum AS DOUBLE) IS NULL
                 THEN value END AS value
        FROM {scan} WHERE itemid IN ({", ".join(str(i) for i in ids)})"""


def _count_bad(reader: MimicIVReader, table: str, src: str, skips: SkipLog) -> None:
    for col, reason in (("t_bad", "unparseable charttime"), ("vn_bad", "non-numeric valuenum")):
        df = reader.sql(
            f"SELECT count({col}) AS n, "
            f"(list({col}) FILTER (WHERE {col} IS NOT NULL))[1:5] AS ex FROM {src}"
        )
        ex = df["ex"].iloc[0]
        examples = [] if not isinstance(ex, (list, np.ndarray)) else [str(e) for e in ex]
        skips.add(table, reason, int(df["n"].iloc[0]), examples)


def extract_events(
    reader: MimicIVReader,
    stays: pd.DataFrame,
    config: VariableConfig | None = None,
    skips: SkipLog | None = None,
) -> ExtractStats:
    """Build the DuckDB table ``medmod_events(stay_id, hours, channel, value)``.

    Args:
        reader: the MIMIC-IV release (its connection receives the table).
        stays: cohort stays with ``stay_id, subject_id, hadm_id, intime, outtime``.
        config: extraction switches.
        skips: where dropped rows are counted.

    Returns:
        Statistics; fetch the events with :func:`fetch_events`. ``value`` is
        the benchmark string: a category of the config or a float's repr.
    """
    config = config or VariableConfig()
    skips = skips if skips is not None else SkipLog()
    stats = ExtractStats()
    con = reader.con
    items = _item_table(reader, config, stats)
    con.register("medmod_items_df", items)
    con.execute("CREATE OR REPLACE TEMP TABLE items AS SELECT * FROM medmod_items_df")
    cohort = stays[["stay_id", "subject_id", "hadm_id", "intime", "outtime"]]
    con.register("medmod_cohort_df", cohort)
    con.execute("CREATE OR REPLACE TEMP TABLE cohort AS SELECT * FROM medmod_cohort_df")
    icu_ids = reader.sql(f"SELECT DISTINCT stay_id FROM {reader.scan('icustays', ['stay_id'])}")
    con.register("medmod_icu_df", icu_ids)
    con.execute("CREATE OR REPLACE TEMP TABLE all_stays AS SELECT * FROM medmod_icu_df")

    cat_ids = items.loc[items["categorical"], "itemid"].tolist()
    need = ["stay_id", "itemid", "charttime", "value", "valuenum"]
    chart_ids = items.loc[items["table"] == "chartevents", "itemid"].tolist()
    reader.execute(
        "CREATE OR REPLACE TEMP TABLE chart AS "
        + _raw_select(reader.scan("chartevents", need), chart_ids, cat_ids, "stay_id,"),
        "chartevents",
    )
    _count_bad(reader, "chartevents", "chart", skips)
    c = reader.sql(
        """SELECT count(*) AS n,
            count(*) FILTER (WHERE a.stay_id IS NULL) AS outside,
            count(*) FILTER (WHERE a.stay_id IS NOT NULL AND k.stay_id IS NULL) AS not_cohort
        FROM chart e LEFT JOIN all_stays a USING (stay_id) LEFT JOIN cohort k USING (stay_id)"""
    ).iloc[0]
    stats.chartevents_rows = int(c["n"])
    skips.add("chartevents", "stay_id missing or not in icustays (outside any stay)", c["outside"])
    skips.add("chartevents", "stay not in the cohort (cohort filter, expected)", c["not_cohort"])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE ev0 AS
        SELECT e.stay_id, e.t, e.itemid, e.vn, e.value FROM chart e
        JOIN cohort USING (stay_id) WHERE e.t IS NOT NULL"""
    )
    con.execute("DROP TABLE chart")

    lab_ids = items.loc[items["table"] == "labevents", "itemid"].tolist()
    if config.use_labevents and lab_ids:
        need = ["subject_id", "hadm_id", "itemid", "charttime", "value", "valuenum"]
        reader.execute(
            "CREATE OR REPLACE TEMP TABLE lab AS "
            + _raw_select(reader.scan("labevents", need), lab_ids, cat_ids, "subject_id, hadm_id,")
            + " AND subject_id IN (SELECT subject_id FROM cohort)",
            "labevents",
        )
        _count_bad(reader, "labevents", "lab", skips)
        con.execute(
            """CREATE OR REPLACE TEMP TABLE labm AS
            SELECT k.stay_id, l.t, l.itemid, l.vn, l.value FROM lab l JOIN cohort k
              ON l.subject_id = k.subject_id AND l.t BETWEEN k.intime AND k.outtime
             AND (l.hadm_id IS NULL OR l.hadm_id = k.hadm_id)"""
        )
        n = reader.sql("SELECT (SELECT count(*) FROM lab) AS n, (SELECT count(*) FROM labm) AS m")
        stats.labevents_rows = int(n["n"].iloc[0])
        skips.add(
            "labevents",
            "not within a cohort ICU stay (expected: most labs are outside the ICU)",
            int(n["n"].iloc[0] - n["m"].iloc[0]),
        )
        con.execute("INSERT INTO ev0 SELECT * FROM labm")
        con.execute("DROP TABLE lab; DROP TABLE labm")

    _clean(reader, config, stats, skips)
    return stats


def _clean(
    reader: MimicIVReader, config: VariableConfig, stats: ExtractStats, skips: SkipLog
) -> None:
    con = reader.con
    n0 = int(reader.sql("SELECT count(*) AS n FROM ev0")["n"].iloc[0])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE ev1 AS
        SELECT DISTINCT e.stay_id, e.t, e.itemid, e.vn, e.value, i.channel, i.categorical
        FROM ev0 e JOIN items i USING (itemid)"""
    )
    con.execute("DROP TABLE ev0")
    n1 = int(reader.sql("SELECT count(*) AS n FROM ev1")["n"].iloc[0])
    skips.add("events", "exact duplicate rows", n0 - n1)

    # Continuous channels: numeric value, conversions by itemid, rescaling, ranges.
    conv = " ".join(f"WHEN {i} THEN {e.format(v='v1')}" for i, e in CONVERSIONS.items())
    rescale = " ".join(f"WHEN '{ch}' THEN {e.format(v='v0')}" for ch, e in RESCALE.items())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE num0 AS
        SELECT stay_id, t, channel, CASE channel {rescale} ELSE v0 END AS v
        FROM (SELECT stay_id, t, channel,
                CASE itemid {conv} ELSE v1 END AS v0
              FROM (SELECT *, coalesce(vn, TRY_CAST(value AS DOUBLE)) AS v1 FROM ev1
                    WHERE NOT categorical)
              WHERE v1 IS NOT NULL)"""
    )
    bad = reader.sql(
        """SELECT channel, count(*) AS n,
            (list(coalesce(value, '<empty>')))[1:5] AS ex FROM ev1
        WHERE NOT categorical AND coalesce(vn, TRY_CAST(value AS DOUBLE)) IS NULL
        GROUP BY channel ORDER BY channel"""
    )
    for r in bad.itertuples():
        skips.add("events", f"non-numeric value of {r.channel}", r.n, [str(x) for x in r.ex])
    if config.range_filter:
        rng = reference.variable_ranges()[["OUTLIER LOW", "OUTLIER HIGH"]]
        rng = rng.loc[[c for c in reference.channels() if not reference.is_categorical(c)]]
        rng = rng.rename(columns={"OUTLIER LOW": "lo", "OUTLIER HIGH": "hi"})
        con.register("medmod_ranges_df", rng.rename_axis("channel").reset_index())
        out = reader.sql(
            """SELECT n.channel, count(*) AS n FROM num0 n JOIN medmod_ranges_df r USING (channel)
            WHERE n.v < r.lo OR n.v > r.hi GROUP BY n.channel ORDER BY n.channel"""
        )
        stats.range_dropped = {r.channel: int(r.n) for r in out.itertuples()}
        for r in out.itertuples():
            skips.add("events", f"{r.channel} outside the physiological range (range_filter)", r.n)
        con.execute(
            """DELETE FROM num0 WHERE rowid IN (SELECT n.rowid FROM num0 n
            JOIN medmod_ranges_df r USING (channel) WHERE n.v < r.lo OR n.v > r.hi)"""
        )

    # Categorical channels: GCS via the config spellings, capillary refill via prefixes.
    con.register("medmod_catmap_df", category_map())
    crr = " ".join(
        f"WHEN starts_with({_sql_norm('e.value')}, '{p}') THEN '{v}'"
        for p, v in CRR_PREFIXES.items()
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cat0 AS
        SELECT e.stay_id, e.t, e.channel, e.value AS raw,
            CASE WHEN e.channel = '{CRR}' THEN (CASE {crr} END) ELSE m.value END AS v
        FROM ev1 e LEFT JOIN medmod_catmap_df m
          ON e.channel = m.channel AND {_sql_norm("e.value")} = m.key
        WHERE e.categorical"""
    )
    unknown = reader.sql(
        """SELECT channel, coalesce(raw, '<empty>') AS raw, count(*) AS n FROM cat0
        WHERE v IS NULL GROUP BY ALL ORDER BY channel, n DESC"""
    )
    for ch, grp in unknown.groupby("channel"):
        stats.unknown_values[ch] = {str(r.raw): int(r.n) for r in grp.itertuples()}
        skips.add("events", f"unknown text value of {ch}", int(grp["n"].sum()), grp["raw"].tolist())
    con.execute("DROP TABLE ev1")

    # One value per (stay, charttime, channel): the benchmark keeps the largest string.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE ev2 AS
        SELECT stay_id, t, channel, max(value) AS value, count(*) AS k FROM (
            SELECT stay_id, t, channel, CAST(v AS VARCHAR) AS value FROM num0
            UNION ALL SELECT stay_id, t, channel, v FROM cat0 WHERE v IS NOT NULL)
        GROUP BY stay_id, t, channel"""
    )
    con.execute("DROP TABLE num0; DROP TABLE cat0")
    k = int(reader.sql("SELECT coalesce(sum(k - 1), 0) AS n FROM ev2")["n"].iloc[0])
    skips.add("events", "same-time values of one channel (largest string kept, as benchmark)", k)

    if config.derive_gcs_total:
        eye, verbal, motor = GCS_PARTS
        con.execute(
            f"""INSERT INTO ev2
            SELECT stay_id, t, '{GCS_TOTAL}',
                CAST(greatest(max(s) FILTER (WHERE e.channel = '{eye}'), 1)
                     + max(s) FILTER (WHERE e.channel = '{verbal}')
                     + max(s) FILTER (WHERE e.channel = '{motor}') AS VARCHAR), 1
            FROM (SELECT e.*, m.score AS s FROM ev2 e JOIN medmod_catmap_df m
                  ON e.channel = m.channel AND e.value = m.value) e
            WHERE e.channel IN ('{eye}', '{verbal}', '{motor}')
            GROUP BY stay_id, t HAVING count(DISTINCT e.channel) = 3
               AND NOT EXISTS (SELECT 1 FROM ev2 g WHERE g.stay_id = e.stay_id
                               AND g.t = e.t AND g.channel = '{GCS_TOTAL}')"""
        )
        stats.gcs_total_derived = int(
            reader.sql(f"SELECT count(*) AS n FROM ev2 WHERE channel = '{GCS_TOTAL}'")["n"].iloc[0]
        )

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {EVENTS_TABLE} AS
        SELECT e.stay_id, epoch(e.t - k.intime) / 3600.0 AS hours, e.channel, e.value
        FROM ev2 e JOIN cohort k USING (stay_id) ORDER BY e.stay_id, hours, e.channel"""
    )
    con.execute("DROP TABLE ev2")
    per = reader.sql(f"SELECT channel, count(*) AS n FROM {EVENTS_TABLE} GROUP BY channel")
    counts = dict(zip(per["channel"], per["n"].astype(int), strict=True))
    stats.events_per_channel = {ch: int(counts.get(ch, 0)) for ch in reference.channels()}


def fetch_events(reader: MimicIVReader, lo: int, hi: int) -> pd.DataFrame:
    """Events of stays with ``lo <= stay_id <= hi``, sorted by ``(stay_id, hours, channel)``.

    Returns:
        Frame ``stay_id`` (int64), ``hours`` (float64), ``channel``, ``value`` (str).
    """
    return reader.sql(
        f"""SELECT stay_id, hours, channel, value FROM {EVENTS_TABLE}
        WHERE stay_id BETWEEN {int(lo)} AND {int(hi)} ORDER BY stay_id, hours, channel"""
    )
