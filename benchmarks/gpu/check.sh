#!/usr/bin/env bash
# The GPU check of issue #23: one script, one device call of about 8 minutes.
#
# On the GPU machine (run from the repository root, wheels carried):
#   device run: command "bash benchmarks/gpu/check.sh", carry ["benchmarks/gpu/wheels"],
#               timeout_s 570
# Here, on a CPU, the same sequence at tiny settings (what tests/benchmarks/ runs):
#   OUT=/tmp/gpu-check-out benchmarks/gpu/check.sh --dry-run     (or GPU_CHECK_DRY_RUN=1)
#
# Phases, each timed and allowed to fail without stopping the next:
#   install     the wheels of benchmarks/gpu/wheels/ (benchmarks/gpu/wheels.sh) into
#               /tmp, on the machine's own python3 (torch 2.11 there), plus a python3
#               Jupyter kernel for papermill
#   env         interpreter, torch/CUDA, GPU and package versions
#   data        the kit's synthetic data set (python -m medmod_lib.synthetic)
#   train_step  benchmarks/train_step.py: samples/s with AMP off/on, channels_last off/on
#   cxr_loader  benchmarks/cxr_loader.py: images/s of the pretraining loader from the
#               cache with the SSL augmentations (simclr preset, two views, 224 px),
#               pinned and copied to the GPU, for several worker counts; augmented on
#               the CPU cores (per image, in the workers) and on the GPU (per batch)
#   notebooks   python -m medmod_lib.run with benchmarks/gpu/check.yaml (the gpu profile
#               with epochs cut; see that file), until the time budget runs out
# Results land in $OUT: gpu_check.json (every figure, benchmarks/gpu/collect.py),
# report.tar.gz (the run's reports/ folder: index.html, executed notebooks, results.csv)
# and check.log.
#
# Settings (environment): OUT (default /tmp/medmod-gpu-check/out), CHECK_WORK (scratch,
# default /tmp/medmod-gpu-check/work, emptied), CHECK_BUDGET_S (default 480; dry run 240),
# PYTHON (default python3), CHECK_PATIENTS (synthetic patients, default the generator's),
# CHECK_NOTEBOOKS (e.g. "00 01 02": only these), CHECK_EXPERIMENT (an experiment YAML, or
# "none" for the plain gpu profile).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dry=0
if [[ "${1:-}" == "--dry-run" || "${GPU_CHECK_DRY_RUN:-0}" == 1 ]]; then dry=1; fi
OUT="${OUT:-/tmp/medmod-gpu-check/out}"
work="${CHECK_WORK:-/tmp/medmod-gpu-check/work}"
py="${PYTHON:-python3}"
if ((dry)); then budget="${CHECK_BUDGET_S:-240}"; else budget="${CHECK_BUDGET_S:-480}"; fi
start=$(date +%s)

left() { echo $((budget - ($(date +%s) - start))); }

# phase NAME LIMIT_S CMD...: run under a time limit; log "name status rc wall_s".
# A shell function runs in this shell (its exports stay), without the limit.
phase() {
    local name=$1 limit=$2 t0 rc status
    shift 2
    echo "=== $name (limit ${limit} s, $(left) s of the budget left)"
    t0=$(date +%s%N)
    if declare -F "$1" > /dev/null; then
        "$@"
    else
        timeout -k 10 "$limit" "$@"
    fi
    rc=$?
    case $rc in
        0) status=ok ;;
        124 | 137) status=timeout ;;
        *) status=failed ;;
    esac
    local ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%s\t%s\t%s\t%d.%03d\n' "$name" "$status" "$rc" $((ms / 1000)) $((ms % 1000)) \
        >> "$work/phases.tsv"
    echo "=== $name: $status (rc $rc)"
    [[ $status == ok ]]
}

install_wheels() {
    local site=/tmp/medmod-gpu-site
    shopt -s nullglob
    local wheels=("$here"/wheels/*.whl)
    shopt -u nullglob
    if ((${#wheels[@]})) && ((dry)); then
        # This interpreter has the packages already; check only that the wheels would
        # install on the GPU image's CPython 3.12 (tags), without installing them.
        "$py" -m pip install -q --dry-run --no-index --no-deps --only-binary=:all: \
            --python-version 3.12 --implementation cp --abi cp312 \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 \
            --platform manylinux1_x86_64 --target "$work/site-check" "${wheels[@]}" || return 1
        echo "${#wheels[@]} wheels would install on CPython 3.12 (dry run: not installed)"
    elif ((${#wheels[@]})); then
        "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$site" "${wheels[@]}" || return 1
        export PYTHONPATH="$site:$PYTHONPATH"
        echo "installed ${#wheels[@]} wheels into $site"
    elif ((!dry)); then
        echo "no wheels in $here/wheels: run benchmarks/gpu/wheels.sh and carry that folder"
    fi
    # papermill asks for the kernel "python3": make it this interpreter, with this PYTHONPATH.
    "$py" -m ipykernel install --prefix "$work/jupyter" --name python3 > /dev/null || return 1
    export JUPYTER_PATH="$work/jupyter/share/jupyter"
    "$py" -c "import duckdb, papermill, nbclient, ipykernel, jupytext, nbconvert, medmod_lib"
}

main() {
    local mode=gpu
    ((dry)) && mode="dry-run"
    echo "GPU check ($mode), budget ${budget} s, $(date -u +%FT%TZ), repo $repo"
    rm -rf "$work" && mkdir -p "$work" "$OUT"
    : > "$work/phases.tsv"
    export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONUNBUFFERED=1 PYTHONHASHSEED=0 MPLBACKEND=Agg TQDM_DISABLE=1
    export MEDMOD_DATA_ROOT="$work/data" MEDMOD_OUTPUT_DIR="$work/outputs"

    local data_args=(--out "$work/data" --quiet) ts_args loader_args run_args
    local ncpu
    ncpu=$(nproc)
    if ((dry)); then
        data_args+=(--patients "${CHECK_PATIENTS:-60}" --image-size 64)
        ts_args=(--arch resnet18 --image-size 32 --seq-len 8 --cpu-batch 4 --warmup 0 --steps 1
            --methods simclr --amp both --channels-last both --threads 1)
        loader_args=(--workers 1 --ssl-workers 0 1 --ssl-samples 16 --batch-size 8
            --image-size 64 --augment cpu device)
        run_args=(--profile smoke)
        [[ -n ${CHECK_NOTEBOOKS+x} ]] || CHECK_NOTEBOOKS="00"
    else
        [[ -n ${CHECK_PATIENTS:-} ]] && data_args+=(--patients "$CHECK_PATIENTS")
        ts_args=(--no-cpu --amp both --channels-last both --gpu-batch 256 --warmup 3 --steps 10)
        local workers=(4 8)
        ((ncpu > 8)) && workers+=("$ncpu")
        loader_args=(--workers "$ncpu" --ssl-workers "${workers[@]}" --ssl-samples 8192
            --batch-size 256 --image-size 224 --pin-memory --device cuda --augment cpu device)
        run_args=()
    fi
    local experiment="${CHECK_EXPERIMENT:-$here/check.yaml}"
    if ((dry)) && [[ -z ${CHECK_EXPERIMENT:-} ]]; then experiment=none; fi
    if [[ $experiment == none ]]; then
        ((dry)) || run_args=(--profile gpu)
    else
        run_args+=(--experiment "$experiment")
    fi
    # shellcheck disable=SC2206  # a space-separated list of notebook numbers
    [[ -n ${CHECK_NOTEBOOKS:-} ]] && run_args+=(--only ${CHECK_NOTEBOOKS})

    local failed=0
    phase install 120 install_wheels || failed=1
    phase env 60 "$py" "$here/collect.py" env "$work/env.json" || failed=1
    phase data 120 "$py" -m medmod_lib.synthetic "${data_args[@]}" || failed=1
    phase train_step 120 "$py" "$repo/benchmarks/train_step.py" "${ts_args[@]}" \
        --json "$work/train_step.json" || failed=1
    phase cxr_loader 120 "$py" "$repo/benchmarks/cxr_loader.py" --data-root "$work/data" \
        "${loader_args[@]}" --workdir "$work/loader" --json "$work/cxr_loader.json" || failed=1
    # The notebooks get what is left, less half a minute to collect and pack.
    local nb_limit=$(($(left) - 30))
    if ((nb_limit < 30)); then
        echo "=== notebooks: skipped, ${nb_limit} s left"
        printf 'notebooks\tskipped\t0\t0\n' >> "$work/phases.tsv"
        failed=1
    else
        phase notebooks "$nb_limit" "$py" -m medmod_lib.run "${run_args[@]}" --run gpu-check \
            --reports "$work/reports" || failed=1
    fi

    "$py" "$here/collect.py" figures --work "$work" --out "$OUT/gpu_check.json" --mode "$mode" \
        --budget-s "$budget" --total-s $(($(date +%s) - start)) --log "$OUT/check.log" || failed=1
    if [[ -d $work/reports/gpu-check ]]; then
        tar -czf "$OUT/report.tar.gz" -C "$work/reports" gpu-check
        if (($(stat -c %s "$OUT/report.tar.gz") > 15 * 1024 * 1024)); then
            echo "report over 15 MiB: packing it without the HTML pages"
            tar -czf "$OUT/report.tar.gz" --exclude='*.html' -C "$work/reports" gpu-check
        fi
    fi
    echo "GPU check ($mode) done in $(($(date +%s) - start)) s; failed phases: $failed"
    return $failed
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/check.log"
