"""One get-or-build rule for every cached artifact (processed EHR, links, encoders, runs).

An artifact is a folder. :func:`get_or_build` reuses it only when the record it
was stamped with (``.medmod_build.json``, written last) matches what is asked
for now, and otherwise builds it again **in a temporary sibling folder**
(``.<name>.partial-<pid>-<token>``) that is renamed into place only when the
build is complete. A build that raises or is killed never leaves a half-written
artifact where a reader looks: the old one stays (or nothing is there), and the
next call rebuilds. Partial folders of dead processes are removed on the next
call.

The reuse rule (the *fingerprint*):

* **settings**: every setting that changes the output, as JSON, must be equal.
  Callers leave out settings that cannot change it (threads, memory cap, scratch
  folders, progress bars, device, workers).
* **input files**: each one's SHA-256 of the whole content must be equal. The
  hash of a file is recomputed unless its size, modification time, change time
  (``ctime``, which every write and every ``touch -d`` moves, and no tool can set
  back) and inode all equal the stamp's; so a same-size edit or a file replaced
  with an old modification time is always re-hashed and never reused.
* **upstream artifacts**: their fingerprints (``digest``) must be equal, so a
  rebuilt processed folder invalidates the links made from it, and so on.
* the kit version.

Examples:
    >>> get_or_build(out, kind="demo", settings={"seed": 0}, inputs={"t": table},
    ...              build=lambda tmp: write(tmp), load=Path)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .scratch import process_alive

STAMP = ".medmod_build.json"
_PARTIAL = ".partial-"
_OLD = ".old-"
T = TypeVar("T")


def _canonical(value: Any) -> Any:
    """``value`` as plain JSON types (tuples -> lists, paths -> str), for comparison."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def sha256_file(path: str | Path, block: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes (read in 4 MB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def text_digest(texts: Iterable[str]) -> str:
    """SHA-256 of a sequence of texts (order matters), for settings made of text."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def stat_key(st: os.stat_result) -> list[int]:
    """``[size, mtime_ns, ctime_ns, inode]``: unchanged, the file's bytes are taken as unchanged."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def file_record(path: str | Path, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fingerprint of one input file: path, stat and content hash.

    The hash of ``previous`` (a record of the same path) is reused only when size,
    mtime, ctime and inode are all unchanged; otherwise the file is hashed again.
    """
    path = Path(path).expanduser().resolve()
    try:
        st = path.stat()
    except OSError as err:
        raise FileNotFoundError(f"Input file {path} cannot be read: {err}") from err
    key = stat_key(st)
    same_stat = (
        previous is not None and previous.get("path") == str(path) and previous.get("stat") == key
    )
    digest = previous["sha256"] if same_stat else sha256_file(path)
    return {"path": str(path), "stat": key, "sha256": digest}


def fingerprint(
    kind: str,
    settings: Mapping[str, Any],
    inputs: Mapping[str, Any],
    upstream: Mapping[str, str],
) -> str:
    """The digest that decides reuse: kind, kit version, settings, input hashes, upstream."""
    content = {
        "kind": kind,
        "kit_version": __version__,
        "settings": _canonical(dict(settings)),
        "inputs": {k: [r["path"], r["sha256"]] for k, r in sorted(inputs.items())},
        "upstream": dict(sorted(upstream.items())),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def read_stamp(folder: str | Path) -> dict[str, Any] | None:
    """The stamp of a complete artifact, or ``None`` (no stamp, or an unreadable one)."""
    try:
        return json.loads((Path(folder) / STAMP).read_text())
    except (OSError, ValueError):
        return None


def digest_of(folder: str | Path, fallback: str | None = None) -> str:
    """The fingerprint of an artifact, to pass as ``upstream`` of what is built from it.

    A folder without a stamp (written by an older kit, or by hand) is identified by
    the SHA-256 of its ``fallback`` file (e.g. ``manifest.json``, written last).

    Raises:
        FileNotFoundError: neither a stamp nor the fallback file is there.
    """
    stamp = read_stamp(folder)
    if stamp is not None:
        return stamp["digest"]
    if fallback is not None and (Path(folder) / fallback).is_file():
        return "file:" + sha256_file(Path(folder) / fallback)
    raise FileNotFoundError(f"{folder} is not a complete artifact (no {STAMP}).")


def reclaim_partials(out: str | Path) -> list[Path]:
    """Remove the partial and old copies of ``out`` that dead processes left behind."""
    out = Path(out)
    removed = []
    if not out.parent.is_dir():
        return removed
    for tag in (_PARTIAL, _OLD):
        for path in out.parent.glob(f".{out.name}{tag}*"):
            try:
                pid = int(path.name[len(f".{out.name}{tag}") :].split("-")[0])
            except ValueError:
                continue
            if pid != os.getpid() and not process_alive(pid):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def is_current(
    out: str | Path,
    *,
    kind: str,
    settings: Mapping[str, Any],
    inputs: Mapping[str, str | Path] | None = None,
    upstream: Mapping[str, str] | None = None,
) -> bool:
    """True when ``out`` is a complete artifact built from these inputs and settings."""
    stamp = read_stamp(out)
    if stamp is None or stamp.get("kind") != kind:
        return False
    inputs, upstream = dict(inputs or {}), dict(upstream or {})
    old = stamp.get("inputs", {})
    if set(old) != set(inputs):
        return False
    try:
        records = {k: file_record(p, old.get(k)) for k, p in inputs.items()}
    except FileNotFoundError:
        return False
    if stamp.get("digest") != fingerprint(kind, settings, records, upstream):
        return False
    if records != old:  # same content, new stat (touched, copied back): skip hashing next time
        stamp["inputs"] = records
        _write_atomic(Path(out) / STAMP, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    return True


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def get_or_build(
    out: str | Path,
    *,
    kind: str,
    settings: Mapping[str, Any],
    build: Callable[[Path], Any],
    load: Callable[[Path], T],
    inputs: Mapping[str, str | Path] | None = None,
    upstream: Mapping[str, str] | None = None,
    force: bool = False,
    markers: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
) -> T:
    """Reuse the artifact at ``out`` if its fingerprint matches, else build it atomically.

    Args:
        out: the artifact's folder.
        kind: what it is (``"processed-ehr"``, ``"linked"``, ...); part of the fingerprint.
        settings: every output-changing setting (JSON-able).
        build: writes the artifact into the folder it is given (a temporary sibling of
            ``out``; it must not record that folder's path in what it writes).
        load: opens the finished artifact at ``out``.
        inputs: name -> input file whose content the artifact depends on.
        upstream: name -> :func:`digest_of` of artifacts it is built from.
        force: build even when the stamp matches.
        markers: files that show an existing, unstamped ``out`` is an earlier build of
            this artifact (e.g. ``manifest.json``), so it may be replaced.
        keep: glob patterns of entries of an old ``out`` that outlive a rebuild (moved
            into the new folder: e.g. an image cache kept inside a processed folder).

    Returns:
        ``load(out)``.

    Raises:
        ValueError: ``out`` is a non-empty folder that is not an artifact of this kind
            (never replaced: it may hold someone's files).
    """
    out = Path(out)
    inputs, upstream = dict(inputs or {}), dict(upstream or {})
    reclaim_partials(out)
    if not force and is_current(
        out, kind=kind, settings=settings, inputs=inputs, upstream=upstream
    ):
        return load(out)
    _check_replaceable(out, kind, markers)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Hashed before the build: an input edited during the build is caught next time.
    records = {k: file_record(p) for k, p in inputs.items()}
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = out.parent / f".{out.name}{_PARTIAL}{token}"
    tmp.mkdir()
    try:
        build(tmp)
        stamp = {
            "kind": kind,
            "kit_version": __version__,
            "settings": _canonical(dict(settings)),
            "inputs": records,
            "upstream": upstream,
            "digest": fingerprint(kind, settings, records, upstream),
        }
        (tmp / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
        _swap(tmp, out, token, keep)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load(out)


def _check_replaceable(out: Path, kind: str, markers: tuple[str, ...]) -> None:
    if not out.exists() and not out.is_symlink():
        return
    if out.is_dir() and not out.is_symlink():
        stamp = read_stamp(out)
        if (stamp is not None and stamp.get("kind") == kind) or not any(out.iterdir()):
            return
        if stamp is None and any((out / m).exists() for m in markers):
            return
    raise ValueError(
        f"{out} exists and is not a {kind!r} folder built by the kit (no {STAMP}"
        + (f" or {', '.join(markers)}" if markers else "")
        + "); it is left untouched. Choose another output folder or remove it yourself."
    )


def discard(out: str | Path) -> None:
    """Remove the artifact ``out``: renamed aside first (readers never see half of it)."""
    out = Path(out)
    if not out.exists():
        return
    old = out.parent / f".{out.name}{_OLD}{os.getpid()}-{secrets.token_hex(4)}"
    os.replace(out, old)
    shutil.rmtree(old, ignore_errors=True)


def _swap(tmp: Path, out: Path, token: str, keep: tuple[str, ...] = ()) -> None:
    """Rename ``tmp`` to ``out``; the previous ``out`` is moved aside, then deleted."""
    old = None
    if out.is_dir() and not out.is_symlink():
        for pattern in keep:
            for entry in sorted(out.glob(pattern)):
                if entry.name != STAMP and not (tmp / entry.name).exists():
                    os.replace(entry, tmp / entry.name)
    if out.exists() or out.is_symlink():
        old = out.parent / f".{out.name}{_OLD}{token}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
