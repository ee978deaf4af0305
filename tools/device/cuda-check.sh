#!/usr/bin/env bash
# The CUDA backend's device check (issues #9 and #10), in two modes of one script (docs/cuda.md, "Running on the GPU").
#
#   bash tools/device/cuda-check.sh pack   # HERE (Swift toolchain, no GPU): static release build of `distill`,
#                                          # stripped, packed with the non-glibc libraries `ldd` lists and
#                                          # pytorch_baseline.py into .device/cuda-pack.tar.xz (git-ignored, < 60 MiB),
#                                          # with .device/shards and .device/robustness for the h0-mini graph step;
#                                          # DISTILL_SCRATCH=.build-rel reuses a release build (only relinks)
#   bash tools/device/cuda-check.sh profile  # THERE: only the two benchmarks, with --profile (per-kernel times)
#   bash tools/device/cuda-check.sh run    # THERE (the H200, no Swift): unpack, print the GPU and its CUDA libraries,
#                                          # then `distill cuda compile`, `distill cuda parity` (the forward, the
#                                          # training kernels, then the whole training step and a 200-step loss curve),
#                                          # the PyTorch anchor (pytorch_baseline.py --batch 32: inference and the
#                                          # training step), `distill bench vit --device cuda` and `distill bench train
#                                          # --device cuda`, then graphs/h0-mini.yaml at batch 32, then (time
#                                          # allowing) the step through the unfused attention, each under a
#                                          # timeout, under 10 minutes in all; JSON and logs go to $OUT.
#
# The device call (from the repository root, with the pack carried):
#   run(command: "set -o pipefail; bash tools/device/cuda-check.sh run 2>&1 | tee $OUT/run.log", carry: [".device"], timeout_s: 600)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PACK_DIR=.device
PACK="$PACK_DIR/cuda-pack.tar.xz"
LIMIT_MIB=60

pack() {
    set -e
    local stage bin lib size
    local scratch=${DISTILL_SCRATCH:-.build-static}
    swift build -c release --static-swift-stdlib --product distill --scratch-path "$scratch"
    bin=$(swift build -c release --static-swift-stdlib --product distill --scratch-path "$scratch" --show-bin-path)/distill
    stage=$(mktemp -d)/cuda-pack
    mkdir -p "$stage/lib"
    cp "$bin" "$stage/distill"
    strip "$stage/distill"
    # Every shared library the binary needs except glibc's own (the GPU machine has glibc 2.39) and the vDSO.
    ldd "$bin" | awk '/=> \// { print $3 }' | while read -r lib; do
        case "$(basename "$lib")" in
            libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|ld-linux*) ;;
            *) cp -L "$lib" "$stage/lib/" ;;
        esac
    done
    cp ../shared/reference/pytorch_baseline.py "$stage/"
    # The commit the binary was built from (and whether the tree had changes), printed by `run` and `profile`.
    echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo ' + uncommitted changes')" > "$stage/COMMIT"
    # Data for the h0-mini graph step (../shared does not travel): shards of one sample slide, robustness tiles.
    rm -rf "$PACK_DIR/shards" "$PACK_DIR/robustness"
    "$bin" tile ../shared/data/slides/aperio/CMU-1-Small-Region.svs --out "$PACK_DIR/shards" --min-tissue 0.2 \
        --run-dir "$(dirname "$stage")/tile-run" | tail -2
    cp -r ../shared/data/paired/wsidicom-data-codec-variants "$PACK_DIR/robustness"
    mkdir -p "$PACK_DIR"
    tar -C "$(dirname "$stage")" -cf - cuda-pack | xz -9 -T0 > "$PACK.tmp"
    mv "$PACK.tmp" "$PACK"
    size=$(stat -c %s "$PACK")
    echo "pack: $PACK $(( size / 1024 / 1024 )) MiB ($size bytes): distill $(stat -c %s "$stage/distill") bytes stripped, $(ls "$stage/lib" | wc -l) libraries:"
    ls -l "$stage/lib" | awk 'NR > 1 { print "  " $9 " " $5 }'
    if (( size >= LIMIT_MIB * 1024 * 1024 )); then
        echo "error: the pack is over $LIMIT_MIB MiB" >&2
        return 1
    fi
    # The static binary runs here (no GPU: the CUDA commands must fail with the loader's message, not crash).
    LD_LIBRARY_PATH="$stage/lib" "$stage/distill" --version
    if LD_LIBRARY_PATH="$stage/lib" "$stage/distill" cuda parity; then
        echo "note: a GPU is visible here; the pack is still the one to carry"
    fi
}

# step NAME TIMEOUT COMMAND...: runs with a timeout, prints the duration and status, never stops the script; the
# exit status is left in LAST_RC.
step() {
    local name=$1 limit=$2 start
    shift 2
    echo
    echo "== $name (timeout ${limit}s) =="
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@"
    LAST_RC=$?
    echo "-- $name: exit $LAST_RC after $(( $(date +%s) - start ))s"
    RESULTS+=("$name: exit $LAST_RC")
}

# spare_step NAME TIMEOUT COMMAND...: `step`, only if its timeout still fits the call's 600 s (SECONDS counts from the
# script's start; 25 s kept for the summary and the copy back).
spare_step() {
    if (( SECONDS + $2 > 575 )); then
        echo
        echo "== $1: skipped (${SECONDS}s used, its ${2}s would not fit) =="
        RESULTS+=("$1: skipped for time")
        return
    fi
    step "$@"
}

# THERE: unpacks the pack into $work and writes $work/distill.sh, which runs the pack's `distill` with the pack's
# libraries (built on Debian) on LD_LIBRARY_PATH — for `distill` alone: python3 and torch keep the machine's own.
unpack() {
    mkdir -p "$out" "$work"
    RESULTS=()
    tar -C "$work" -xJf "$PACK" || { echo "error: cannot unpack $PACK (run 'pack' here first and carry .device)"; exit 1; }
    pack="$work/cuda-pack"
    distill="$work/distill.sh"
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s/distill" "$@"\n' \
        "$pack" "$pack" > "$distill"
    chmod +x "$distill"
    echo "pack built from commit $(cat "$pack/COMMIT" 2>/dev/null || echo '(unknown: packed before COMMIT was recorded)')"
}

run() {
    local out=${OUT:-/tmp/cuda-check-out} work=/tmp/distill-cuda pack distill
    unpack
    export PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv
    ldconfig -p | grep -E 'cuda|cublas|nvrtc'
    ls /usr/local/cuda/lib64 | grep -E 'nvrtc|cublasLt' || true
    # Where the toolkit folder lacks NVRTC or cuBLASLt, PyTorch's CUDA wheels (nvidia/cu13/lib) hold them.
    local wheels
    wheels=$(python3 -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null)/nvidia
    if ! ls /usr/local/cuda/lib64/libnvrtc.so.1[23] >/dev/null 2>&1; then
        export DISTILL_NVRTC=$(ls "$wheels"/*/lib/libnvrtc.so.1[23] 2>/dev/null | head -1)
        echo "NVRTC from the wheels: ${DISTILL_NVRTC:-none}"
    fi
    if ! ls /usr/local/cuda/lib64/libcublasLt.so.1[23] >/dev/null 2>&1; then
        export DISTILL_CUBLASLT=$(ls "$wheels"/*/lib/libcublasLt.so.1[23] 2>/dev/null | head -1)
        echo "cuBLASLt from the wheels: ${DISTILL_CUBLASLT:-none}"
    fi
    # These limits sum to 490 s (+ unpacking and the queries above); the graph step and the spare ones after it run
    # only while their limits fit: the whole run stays under the 600 s of one call.
    step "distill cuda compile --arch sm_90" 30 "$distill" cuda compile --arch sm_90
    step "distill cuda parity --part forward" 70 bash -c "set -o pipefail; '$distill' cuda parity --part forward 2>&1 | tee '$out/parity.txt'"
    step "distill cuda parity --part kernels" 40 bash -c "set -o pipefail; '$distill' cuda parity --part kernels 2>&1 | tee '$out/parity-kernels.txt'"
    step "distill cuda parity --part train" 70 bash -c "set -o pipefail; '$distill' cuda parity --part train --steps 200 2>&1 | tee '$out/parity-train.txt'"
    local train_parity=$LAST_RC
    step "pytorch_baseline.py --batch 32" 120 bash -c "set -o pipefail; python3 '$pack/pytorch_baseline.py' --batch 32 --out '$out/baseline.json' 2>&1 | tee '$out/baseline.log'"
    local anchor=()
    [[ -s "$out/baseline.json" ]] && anchor=(--anchor-json "$out/baseline.json")
    step "distill bench vit --device cuda" 70 bash -c "'$distill' bench vit --device cuda ${anchor[*]} --profile --json > '$out/bench.json'"
    step "distill bench train --device cuda" 90 bash -c "'$distill' bench train --device cuda ${anchor[*]} --profile --json > '$out/bench-train.json'"
    # Time allowing: the step through the unfused attention (the fused one's A/B, and the figure to fall back on if the
    # fused training attention failed) and, if the train parity failed, that parity through the unfused path.
    spare_step "distill bench train --device cuda, unfused attention" 90 bash -c "DISTILL_CUDA_ATTENTION=unfused '$distill' bench train --device cuda ${anchor[*]} --json > '$out/bench-train-unfused.json'"
    if (( train_parity != 0 )); then
        spare_step "distill cuda parity --part train, unfused attention" 70 bash -c "set -o pipefail; DISTILL_CUDA_ATTENTION=unfused '$distill' cuda parity --part train --steps 20 2>&1 | tee '$out/parity-train-unfused.txt'"
    fi
    # graphs/h0-mini.yaml itself, both stages on the GPU at batch 32, random weights: the carried shards (`distill
    # tile` of CMU-1-Small-Region.svs, 52 tiles: one step) and robustness tiles (the probe set stays behind).
    if [[ -d .device/shards && -d .device/robustness ]]; then
        spare_step "distill run graphs/h0-mini.yaml (B 32, random weights)" 90 bash -c "set -o pipefail; DATASET=.device/shards BATCH=32 AUGMENT_REPLICAS=16 \
            '$distill' run graphs/h0-mini.yaml --run-dir '$work/h0-mini' --set evaluator.probe_tiles= \
            --set evaluator.robustness_tiles=.device/robustness 2>&1 | tail -40; rc=\$?; ls -l '$work/h0-mini'; exit \$rc"
    fi
    echo
    echo "== summary =="
    printf '  %s\n' "${RESULTS[@]}"
    [[ -s "$out/parity.txt" ]] && grep -E 'passed|FAIL' "$out/parity.txt" | tail -20
    [[ -s "$out/parity-kernels.txt" ]] && grep -E 'passed|FAIL' "$out/parity-kernels.txt" | tail -20
    [[ -s "$out/parity-train.txt" ]] && grep -E 'passed|FAIL|loss curve' "$out/parity-train.txt" | tail -20
    [[ -s "$out/parity-train-unfused.txt" ]] && grep -E 'passed|FAIL|loss curve' "$out/parity-train-unfused.txt" | tail -20
    [[ -s "$out/baseline.json" ]] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('pytorch training step: %s img/s, batch %s, peak %s GiB (anchors 124.7 img/s, 56.3 GiB)' % (d.get('distill_imgs_s'), d.get('distill_batch_per_gpu'), d.get('peak_mem_GiB')))" "$out/baseline.json"
    for json_file in "$out/bench-train.json" "$out/bench-train-unfused.json"; do
        [[ -s "$json_file" ]] || continue
        [[ "$json_file" == *unfused* ]] && echo "-- the same step through the unfused attention (DISTILL_CUDA_ATTENTION=unfused):"
        python3 - "$json_file" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
a = r.get("anchor") or {}
mfu = lambda v: "-" if v is None else f"{100 * v:.1f} %"
print(f"bench train: {r['teacher']} -> {r['student']}, B {r['batch']}, {r['crops']} px, K {r['prototypes']}, {r['tflop_per_step']:.1f} TFLOP/step, "
      f"attention {r.get('attention', '?')}, CUDA graphs {r.get('cuda_graphs', '?')}")
print(f"  {'side':8} {'img/s':>8} {'s/step':>8} {'peak GiB':>9} {'MFU':>7}")
print(f"  {'swift':8} {r['images_per_s']:8.1f} {r['median_s']:8.3f} {r['pool_peak_GiB']:9.2f} {mfu(r.get('mfu')):>7}   (cuMemGetInfo {r['device_used_GiB']:.2f} GiB)")
print(f"  {'serial':8} {r['serial_images_per_s']:8.1f} {r['serial_median_s']:8.3f}   (teacher forward, then the step; the line above overlaps them)")
if a.get("distill_imgs_s"):
    py = a["distill_imgs_s"]; b = a.get("distill_batch_per_gpu") or r["batch"]; peak = r.get("peak_tflops")
    print(f"  {'pytorch':8} {py:8.1f} {b / py:8.3f} {a.get('peak_mem_GiB') or float('nan'):9.2f} "
          f"{mfu(None if peak is None else r['tflop_per_step'] * py / b / peak):>7}   (batch {b})")
    print(f"  ratio {r['images_per_s'] / py:.2f}x   targets >= {r['target_images_per_s']:.0f} img/s, <= {r['target_peak_GiB']:.0f} GiB")
if r.get("anchor_unavailable"): print("  anchor unavailable:", r["anchor_unavailable"])
rows = r.get("profile") or []
total = sum(x["milliseconds"] for x in rows)
for x in rows[:14]: print(f"    {x['milliseconds']:8.2f} ms {100 * x['milliseconds'] / total:5.1f} % {x['calls']:5d}  {x['name']}")
PY
    done
    if [[ -s "$out/bench.json" ]]; then
        python3 - "$out/bench.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["device"]
print(f"bench: {d['name']} sm_{d['computeCapability'][0]}{d['computeCapability'][1]}, {d['multiprocessors']} SMs, driver API {d['driverVersion']}")
print(f"  {'model':14} {'batch':>5} {'swift img/s':>12} {'pytorch img/s':>14} {'ratio':>6} {'target':>7}")
for m in r["models"]:
    py = m.get("pytorch_images_per_s"); ratio = m.get("ratio_over_pytorch"); t = m.get("target_images_per_s")
    print(f"  {m['name']:14} {m['batch']:5d} {m['images_per_s']:12.1f} {'-' if py is None else f'{py:.1f}':>14} "
          f"{'-' if ratio is None else f'{ratio:.2f}':>6} {'-' if t is None else f'{t:.0f}':>7}")
if r.get("anchor_unavailable"): print("  anchor unavailable:", r["anchor_unavailable"])
for m in r["models"]:
    rows = m.get("profile") or []
    total = sum(x["milliseconds"] for x in rows)
    print(f"  profile {m['name']}: {total:.1f} ms call by call")
    for x in rows[:8]: print(f"    {x['milliseconds']:8.2f} ms {100 * x['milliseconds'] / total:5.1f} % {x['calls']:5d}  {x['name']}")
PY
    fi
}

# THERE: the two benchmarks again with --profile (device time per kernel and GEMM; no parity, no PyTorch), text
# tables on stdout and in $OUT/profile.txt — where the time goes, for the next change.
profile() {
    local out=${OUT:-/tmp/cuda-check-out} work=/tmp/distill-cuda pack distill
    unpack
    step "distill bench vit --device cuda --profile" 120 bash -c "set -o pipefail; '$distill' bench vit --device cuda --profile 2>&1 | tee '$out/profile.txt'"
    step "distill bench train --device cuda --profile" 120 bash -c "set -o pipefail; '$distill' bench train --device cuda --profile 2>&1 | tee -a '$out/profile.txt'"
    printf '  %s\n' "${RESULTS[@]}"
}

case "${1:-}" in
    pack) pack ;;
    run) run ;;
    profile) profile ;;
    *) echo "usage: $0 pack|run|profile" >&2; exit 64 ;;
esac
