#!/usr/bin/env bash
# woof-dist bench next to the same configurations in PyTorch + timm + peft, in one invocation.
#
#   scripts/bench-vs-pytorch.sh [--python PATH] [--steps N] [--repeats K] [--modes "full lora eval"] [--out DIR]
#
# PYTHON (or --python) must have torch, timm and peft; the product never installs them, e.g.
#   python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch timm peft
# Each of K rounds (default 3) measures the gemm roofline R (woof-dist bench --mode gemm: OpenBLAS
# sgemm on the ViT's products, split over the engine's workers as its gemms are), then every mode
# ours then PyTorch, so background load hits both alike; the medians over the rounds are printed
# per mode (images/s, the ratio to PyTorch, GFLOP/s and its fraction of R) and written to
# DIR/bench.csv (default output/bench), which `make publish-bench` puts in the paper.
set -euo pipefail
py=${PYTHON:-python3}; steps=10; repeats=3; modes="full lora eval"; out=output/bench
bin=${WOOF_BIN:-.build/release/woof-dist}; threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --python) py=$2; shift 2;;
    --steps) steps=$2; shift 2;;
    --repeats) repeats=$2; shift 2;;
    --modes) modes=$2; shift 2;;
    --out) out=$2; shift 2;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "bench-vs-pytorch: unknown option $1" >&2; exit 2;;
  esac
done
[ -x "$bin" ] || { echo "bench-vs-pytorch: $bin not built (make build)" >&2; exit 1; }
have_torch=1
"$py" -c "import torch, timm, peft" 2>/dev/null || { have_torch=0; echo "bench-vs-pytorch: $py has no torch/timm/peft; timing woof-dist only" >&2; }
here=$(cd "$(dirname "$0")" && pwd)
# record ROUND WHO MODE CMD…: runs CMD and appends its last (JSON) line to the rounds file.
record() {
  local k=$1 who=$2 m=$3; shift 3
  local line; line=$("$@" 2>/dev/null | tail -1)
  [ -n "$line" ] || { echo "bench-vs-pytorch: round $k, $who $m printed nothing: $*" >&2; exit 1; }
  echo "{\"round\":$k,\"who\":\"$who\",\"mode\":\"$m\",\"line\":$line}" >>"$runs"
}

mkdir -p "$out"
[ "$repeats" -ge 1 ] 2>/dev/null || { echo "bench-vs-pytorch: --repeats must be a positive integer" >&2; exit 2; }
runs="$out/runs.jsonl.tmp"; : >"$runs"
for k in $(seq "$repeats"); do
  record "$k" gemm - "$bin" bench --mode gemm --batch-size 32 --steps 5 --threads "$threads"
  for m in $modes; do
    record "$k" ours "$m" "$bin" bench --mode "$m" --steps "$steps" --warmup 2 --threads "$threads"
    [ $have_torch = 0 ] || record "$k" pytorch "$m" "$py" "$here/bench_pytorch.py" --mode "$m" --steps "$steps" --warmup 2 --threads "$threads"
  done
  echo "bench-vs-pytorch: round $k/$repeats done" >&2
done
mv "$runs" "$out/runs.jsonl"
# Medians over the rounds; peak RSS is the largest seen.
python3 - "$out" "$threads" "$modes" <<'PY'
import json, statistics, sys
out, threads, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
runs = [json.loads(l) for l in open(out + "/runs.jsonl")]
med = statistics.median
gemm = [r["line"] for r in runs if r["who"] == "gemm"]
r, r1 = med(g["r_gflop_per_s"] for g in gemm), med(g["one_thread_gflop_per_s"] for g in gemm)
print(f"gemm roofline: OpenBLAS sgemm on the ViT's products at batch 32: {r1:.1f} GFLOP/s on 1 thread; split over {threads} workers "
      f"R = {r:.1f} GFLOP/s (ideal {threads} × {r1:.1f} = {threads * r1:.1f}); medians of {len(gemm)} rounds")
print(f"{'mode':<5} {'woof img/s':>12} {'torch img/s':>12} {'ratio':>7} {'woof RSS':>12} {'torch RSS':>12} {'GFLOP/s':>9} {'÷ R':>6}")
rows = ["mode,threads,batch,ours_img_per_s,pytorch_img_per_s,ratio,ours_peak_rss_mib,pytorch_peak_rss_mib,ours_gflop_per_s,r_gflop_per_s,fraction_of_r,repeats"]
for m in modes:
    ours = [x["line"] for x in runs if x["who"] == "ours" and x["mode"] == m]
    theirs = [x["line"] for x in runs if x["who"] == "pytorch" and x["mode"] == m]
    oi, og, orss = med(o["img_per_s"] for o in ours), med(o["gflop_per_s"] for o in ours), max(o["peak_rss_mib"] for o in ours)
    ti = med(t["img_per_s"] for t in theirs) if theirs else None
    trss = max(t["peak_rss_mib"] for t in theirs) if theirs else None
    ratio = f"{oi / ti:.3f}" if ti else ""
    print(f"{m:<5} {oi:12.1f} {ti or 0:12.1f} {ratio or '—':>7} {orss:8.0f} MiB {trss or 0:8.0f} MiB {og:9.1f} {og / r:6.3f}")
    rows.append(f"{m},{threads},32,{oi},{ti or ''},{ratio},{orss},{trss or ''},{og},{r},{og / r:.3f},{len(ours)}")
open(out + "/bench.csv.tmp", "w").write("\n".join(rows) + "\n")
PY
mv "$out/bench.csv.tmp" "$out/bench.csv"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads cores; wrote $out/bench.csv (and each round in runs.jsonl)"
