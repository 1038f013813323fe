#!/usr/bin/env bash
# Scaling benchmark: for mode in full, lora and N ranks in 1, 2, 4, time real data-parallel
# training steps of ViT-Ti (synthetic input, global batch 32) under mpirun and write
#   output/scaling/scaling.csv   ranks,mode,threads_per_rank,batch,img_per_s,compute_s_per_step,
#                                comm_s_per_step,bytes_per_step,oversubscribed,overlap
# then the many-node projection (output/scaling/projection.csv, summary.txt).
# Rank counts above the core count run oversubscribed and are marked so in the CSV.
#
#   scripts/bench-scaling.sh [--steps 6] [--warmup 2] [--ranks "1 2 4"] [--modes "full lora"]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/woof-dist}
OUT=${OUT:-output/scaling}
STEPS=6; WARMUP=2; RANKS="1 2 4"; MODES="full lora"; BATCH=32
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --ranks) RANKS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --batch-size) BATCH=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "$BIN not built: run make build" >&2; exit 1; }
# --bind-to none: by default OpenMPI pins each rank to one core, which would leave a
# 1-rank run with 2 threads on a single core.
MPIRUN=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
CORES=$(nproc)
mkdir -p "$OUT"
CSV="$OUT/scaling.csv"
"$BIN" bench --csv-header > "$CSV.tmp"
for mode in $MODES; do
  for n in $RANKS; do
    threads=$(( CORES / n )); [ "$threads" -lt 1 ] && threads=1
    echo "== $mode, $n rank(s) × $threads thread(s)$([ $((n * threads)) -gt "$CORES" ] && echo ', oversubscribed') ==" >&2
    "${MPIRUN[@]}" -np "$n" "$BIN" bench --mode "$mode" --batch-size "$BATCH" --steps "$STEPS" --warmup "$WARMUP" \
      --threads "$threads" --csv | tail -1 >> "$CSV.tmp"
    tail -1 "$CSV.tmp" >&2
  done
done
mv "$CSV.tmp" "$CSV"
echo "wrote $CSV" >&2
"$BIN" scaling --csv "$CSV" --out "$OUT"
