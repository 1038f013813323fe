#!/usr/bin/env bash
# woof-dist bench next to the same configurations in PyTorch + timm + peft, in one invocation.
#
#   scripts/bench-vs-pytorch.sh [--python PATH] [--steps N] [--modes "full lora eval"] [--out DIR]
#
# PYTHON (or --python) must have torch, timm and peft; the product never installs them, e.g.
#   python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch timm peft
# Modes alternate ours/PyTorch so background load hits both alike. First it measures the gemm
# roofline R (woof-dist bench --mode gemm: OpenBLAS sgemm on the ViT's products, split over the
# engine's workers as its gemms are); then prints per mode the images/s, the ratio to PyTorch, GFLOP/s and its fraction
# of R, and writes DIR/bench.csv (default output/bench), which `make results` puts in the paper.
set -euo pipefail
py=${PYTHON:-python3}; steps=10; modes="full lora eval"; out=output/bench
bin=${WOOF_BIN:-.build/release/woof-dist}; threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --python) py=$2; shift 2;;
    --steps) steps=$2; shift 2;;
    --modes) modes=$2; shift 2;;
    --out) out=$2; shift 2;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "bench-vs-pytorch: unknown option $1" >&2; exit 2;;
  esac
done
[ -x "$bin" ] || { echo "bench-vs-pytorch: $bin not built (make build)" >&2; exit 1; }
have_torch=1
"$py" -c "import torch, timm, peft" 2>/dev/null || { have_torch=0; echo "bench-vs-pytorch: $py has no torch/timm/peft; timing woof-dist only" >&2; }
here=$(cd "$(dirname "$0")" && pwd)
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

mkdir -p "$out"
"$bin" bench --mode gemm --batch-size 32 --steps 5 --threads "$threads" 2>/dev/null > "$out/gemm.jsonl"
r=$(tail -1 "$out/gemm.jsonl" | field r_gflop_per_s); r1=$(tail -1 "$out/gemm.jsonl" | field one_thread_gflop_per_s)
ideal=$(tail -1 "$out/gemm.jsonl" | field ideal_gflop_per_s)
printf "gemm roofline: OpenBLAS sgemm on the ViT's products at batch 32: %.1f GFLOP/s on 1 thread; split over %d workers R = %.1f GFLOP/s (ideal %d × %.1f = %.1f)\n" \
  "$r1" "$threads" "$r" "$threads" "$r1" "$ideal"
csv="$out/bench.csv.tmp"
echo "mode,threads,batch,ours_img_per_s,pytorch_img_per_s,ratio,ours_peak_rss_mib,pytorch_peak_rss_mib,ours_gflop_per_s,r_gflop_per_s,fraction_of_r" >"$csv"
printf "%-5s %12s %12s %7s %12s %12s %9s %6s\n" mode "woof img/s" "torch img/s" ratio "woof RSS" "torch RSS" "GFLOP/s" "÷ R"
for m in $modes; do
  ours=$("$bin" bench --mode "$m" --steps "$steps" --warmup 2 --threads "$threads" 2>/dev/null | tail -1)
  oi=$(echo "$ours" | field img_per_s); orss=$(echo "$ours" | field peak_rss_mib); og=$(echo "$ours" | field gflop_per_s)
  frac=$(python3 -c "print(f'{$og/$r:.3f}')")
  ti=""; trss=""; ratio=""
  if [ $have_torch = 1 ]; then
    theirs=$("$py" "$here/bench_pytorch.py" --mode "$m" --steps "$steps" --warmup 2 --threads "$threads" 2>/dev/null | tail -1)
    ti=$(echo "$theirs" | field img_per_s); trss=$(echo "$theirs" | field peak_rss_mib)
    ratio=$(python3 -c "print(f'{$oi/$ti:.3f}')")
  fi
  printf "%-5s %12.1f %12s %7s %9.0f MiB %9s MiB %9.1f %6s\n" "$m" "$oi" "${ti:+$(printf %.1f "$ti")}" "${ratio:-—}" "$orss" \
    "${trss:+$(printf %.0f "$trss")}" "$og" "$frac"
  echo "$m,$threads,32,$oi,$ti,$ratio,$orss,$trss,$og,$r,$frac" >>"$csv"
done
mv "$csv" "$out/bench.csv"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads cores; wrote $out/bench.csv"
