"""Release layout, file choice and schema checks of the DuckDB reader."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from mimic_tables import chart, stay, write_release

from medmod_lib.ehr import MimicIVReader, MimicLayoutError, MimicSchemaError


def test_v1_core_layout_is_rejected_with_a_fix(tmp_path):
    rel = tmp_path / "mimiciv" / "1.0"
    for module in ("core", "hosp", "icu"):
        (rel / module).mkdir(parents=True)
    with pytest.raises(MimicLayoutError, match=r"v1\.0 layout.*core.*v2\.2 or v3\.1"):
        MimicIVReader(tmp_path)


def test_missing_module_and_missing_table(tmp_path):
    (tmp_path / "mimiciv" / "3.1" / "hosp").mkdir(parents=True)
    with pytest.raises(MimicLayoutError, match=r"missing \['icu'\]"):
        MimicIVReader(tmp_path)
    root = write_release(tmp_path / "b", [stay(1)], skip_tables=("chartevents",))
    reader = MimicIVReader(root)
    with pytest.raises(MimicLayoutError, match=r"chartevents.*expected .*icu/chartevents\.csv\.gz"):
        reader.path("chartevents")


def test_csv_gz_preferred_over_csv(tmp_path):
    root = write_release(tmp_path, [stay(1)])
    icu = root / "mimiciv" / "3.1" / "icu"
    (icu / "icustays.csv").write_text("garbage\n")
    assert MimicIVReader(root).path("icustays").name == "icustays.csv.gz"
    (icu / "icustays.csv.gz").unlink()
    assert MimicIVReader(root).path("icustays").name == "icustays.csv"


def test_missing_columns_name_file_and_columns(tmp_path):
    root = write_release(tmp_path, [stay(1)], drop={"icustays": ["intime", "los"]})
    reader = MimicIVReader(root)
    with pytest.raises(
        MimicSchemaError, match=r"icustays\.csv\.gz lacks required columns \['intime', 'los'\]"
    ):
        reader.table("icustays", ["stay_id", "intime", "los"])


def test_types_ids_int64_codes_strings_timestamps_parsed(tmp_path):
    diag = [
        dict(subject_id=10_000_001, hadm_id=20_000_001, seq_num=1, icd_code="0090", icd_version=9)
    ]
    root = write_release(tmp_path, [stay(1)], diagnoses=diag)
    reader = MimicIVReader(root)
    d = reader.table("diagnoses_icd")
    assert d["icd_code"].tolist() == ["0090"]
    assert d["hadm_id"].dtype == "int64"
    icu = reader.table("icustays")
    assert str(icu["intime"].iloc[0]) == "2150-01-01 00:00:00"
    reader.close()


def test_non_integer_id_is_an_error_naming_the_file(tmp_path):
    root = write_release(tmp_path, [stay(1)], [chart(1, 1, 220045, 80)])
    path = root / "mimiciv" / "3.1" / "icu" / "chartevents.csv.gz"
    text = gzip.open(path, "rt").read().replace(",220045,", ",HR,")
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    reader = MimicIVReader(root)
    with pytest.raises(MimicSchemaError, match="chartevents.csv.gz"):
        reader.sql(f"SELECT * FROM {reader.scan('chartevents', ['itemid'])}", "chartevents")


def test_chunked_gzip_stream_equals_direct_read(tmp_path):
    rows = [chart(1, h / 7, 220045, 60 + h) for h in range(300)]
    rows.append({**chart(1, 50, 223900, 'Confused, "quoted"')})
    root = write_release(tmp_path, [stay(1)], rows)
    reader = MimicIVReader(root)
    need = ["stay_id", "itemid", "charttime", "value", "valuenum"]
    select = "SELECT * FROM {scan}"
    reader.load("chartevents", need, select, "direct")
    reader.load("chartevents", need, select, "chunked", chunk_bytes=512)
    a = reader.sql("SELECT * FROM direct ORDER BY charttime, itemid")
    b = reader.sql("SELECT * FROM chunked ORDER BY charttime, itemid")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 301
    reader.close()


def test_chunks_are_the_same_with_isal_or_zlib(tmp_path, monkeypatch):
    """ISA-L inflates when installed; pyarrow's zlib is the fallback: same chunk files."""
    import builtins

    from medmod_lib.ehr.gzchunks import gzip_chunk_files

    rows = [chart(1, h / 60, 220045, 60 + h % 50) for h in range(3000)]  # ~250 kB inflated
    root = write_release(tmp_path, [stay(1)], rows)
    path = root / "mimiciv" / "3.1" / "icu" / "chartevents.csv.gz"

    def chunks(folder):
        folder.mkdir()
        return [p.read_bytes() for p in gzip_chunk_files(path, folder, chunk_bytes=40_000)]

    fast = chunks(tmp_path / "isal")
    real_import = builtins.__import__

    def no_isal(name, *args, **kwargs):
        if name == "isal":
            raise ImportError("no isal here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_isal)
    slow = chunks(tmp_path / "zlib")
    assert len(fast) > 3 and fast == slow
    header = fast[0].split(b"\n", 1)[0]
    assert all(c.startswith(header + b"\n") for c in fast)  # every chunk has the header
    assert b"".join(c.split(b"\n", 1)[1] for c in fast) == gzip.open(path).read().split(b"\n", 1)[1]


def test_chunk_files_take_turns_and_an_early_stop_cleans_up(tmp_path):
    """Two files at most: a consumed chunk is reused; stopping early leaves nothing behind."""
    from medmod_lib.ehr.gzchunks import gzip_chunk_files

    rows = [chart(1, h / 60, 220045, 60 + h % 50) for h in range(3000)]
    root = write_release(tmp_path, [stay(1)], rows)
    path = root / "mimiciv" / "3.1" / "icu" / "chartevents.csv.gz"
    folder = tmp_path / "chunks"
    folder.mkdir()
    held = tmp_path / "held"  # hard links keep every inode alive, so numbers are not recycled
    held.mkdir()
    seen, inodes = [], set()
    for k, chunk in enumerate(gzip_chunk_files(path, folder, chunk_bytes=40_000)):
        assert len(list(folder.glob("*.csv"))) <= 2
        seen.append(chunk.read_bytes())
        inodes.add(chunk.stat().st_ino)
        (held / str(k)).hardlink_to(chunk)
    assert len(seen) > 3 and len(inodes) == 2  # later chunks overwrite consumed files
    assert b"".join(c.split(b"\n", 1)[1] for c in seen) == gzip.open(path).read().split(b"\n", 1)[1]
    assert not list(folder.iterdir())

    chunks = gzip_chunk_files(path, folder, chunk_bytes=40_000)
    first = next(chunks).read_bytes()
    chunks.close()  # the consumer stops: the inflating thread ends, the files go
    assert first == seen[0] and not list(folder.iterdir())


def test_chunks_go_to_the_chunk_directory_and_are_removed(tmp_path):
    from medmod_lib.ehr import DuckDBSettings

    rows = [chart(1, h / 7, 220045, 60 + h) for h in range(300)]
    root = write_release(tmp_path, [stay(1)], rows)
    chunks = tmp_path / "chunks"
    reader = MimicIVReader(root, DuckDBSettings(chunk_directory=str(chunks)))
    seen = []
    need = ["stay_id", "itemid", "charttime", "value", "valuenum"]
    reader.load(
        "chartevents", need, "SELECT * FROM {scan}", "part", chunk_bytes=2048,
        each=lambda k: seen.append(len(list(chunks.glob("medmod_chartevents_*/*.csv")))),
    )  # fmt: skip
    assert len(seen) > 3 and min(seen) >= 1  # each part was read from a file there
    assert not list(chunks.iterdir())  # the part folder is gone afterwards
    reader.close()


def test_chunks_fall_back_to_the_spill_folder_without_room_in_dev_shm(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    root = write_release(tmp_path, [stay(1)], [chart(1, 1, 220045, 80)])
    reader = MimicIVReader(root)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(1 << 30, 1 << 30, 1 << 20))
    assert reader._chunk_dir(1 << 28) == reader.temp_dir
    reader.close()
