#!/usr/bin/env bash
# Download the wheels listed in benchmarks/gpu/wheels.txt into benchmarks/gpu/wheels/
# (git-ignored), for the GPU image's Python 3.12 on manylinux x86-64. Run here, where
# PyPI is reachable; the GPU machine reaches nothing, so check.sh installs from this
# folder, which the device call carries (carry: ["benchmarks/gpu/wheels"]).
#
#   benchmarks/gpu/wheels.sh            # download (keeps wheels already there)
#   benchmarks/gpu/wheels.sh --list     # regenerate wheels.txt from requirements.txt first
#   benchmarks/gpu/wheels.sh pandas==3.1.1   # also carry these (e.g. a pinned version the
#                                            # image has older), for this download only
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
py="${PYTHON:-$repo/.venv/bin/python}"
dest="$here/wheels"
# Everything a device call sends travels together: tree + carried paths <= 64 MiB.
max_mib="${MAX_WHEELS_MIB:-56}"

if [[ "${1:-}" == "--list" ]]; then
    "$py" "$here/wheel_list.py" > "$here/wheels.txt"
    shift
fi
mkdir -p "$dest"
mapfile -t pins < <(grep -v '^#' "$here/wheels.txt" | sed '/^$/d')
pins+=("$@")
"$py" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 --platform any \
    -d "$dest" "${pins[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

# One wheel per pin, and no stale extra version (two versions stop the install there).
"$py" - "$dest" "${pins[@]}" <<'EOF'
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

dest, pins = Path(sys.argv[1]), sys.argv[2:]
want = {canonicalize_name(p.split("==")[0]): p.split("==")[1] for p in pins}
have: dict[str, list[str]] = {}
for whl in dest.glob("*.whl"):
    name, version, _, _ = parse_wheel_filename(whl.name)
    have.setdefault(canonicalize_name(name), []).append(str(version))
missing = sorted(n for n in want if want[n] not in have.get(n, []))
stale = sorted(w.name for w in dest.glob("*.whl") if (
    (n := canonicalize_name(parse_wheel_filename(w.name)[0])) not in want
    or str(parse_wheel_filename(w.name)[1]) != want[n]))
if missing or stale:
    sys.exit(f"wheels: missing {missing}; not in wheels.txt (delete them) {stale}")
EOF
mib=$(du -sm "$dest" | cut -f1)
echo "$(find "$dest" -name "*.whl" | wc -l) wheels, ${mib} MiB in $dest"
if (( mib > max_mib )); then
    echo "error: ${mib} MiB of wheels leave too little of the 64 MiB a device call carries" >&2
    exit 1
fi
