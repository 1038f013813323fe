#!/usr/bin/env bash
# Data-parallel steps over a real (emulated) network: 2 nodes of scripts/emulated-cluster.sh,
# one rank and one compute thread each (the 2 cores are not oversubscribed), OpenMPI over TCP
# on the emulated subnet only. For each bandwidth cap it times
#   - one blocking float allreduce per message size (woof-dist bench --mode allreduce), and
#   - training steps on synthetic input (woof-dist bench), per mode and overlap setting,
#     --repeats times, the repeats interleaved so that a noisy minute hits every configuration,
# and writes
#   output/network/network.csv    bandwidth_mbit,repeat,ranks,mode,threads_per_rank,batch,img_per_s,
#                                 compute_s_per_step,comm_s_per_step,bytes_per_step,oversubscribed,overlap
#   output/network/allreduce.csv  bandwidth_mbit,ranks,bytes,allreduce_s,allreduce_min_s
# 'none' means no cap (the veth's own speed). Needs root. The cluster is taken down at the end,
# also on failure or Ctrl-C. `woof-dist network` turns the two files into the model check.
#
#   scripts/bench-network.sh [--bandwidths "100mbit 1gbit 10gbit none"] [--modes "full lora"]
#                            [--steps 6] [--warmup 1] [--repeats 3] [--allreduce-repeats 5]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release/woof-dist}
OUT=${OUT:-output/network}
BANDWIDTHS="100mbit 1gbit 10gbit none"; MODES="full lora"; STEPS=6; WARMUP=1; BATCH=32; REPEATS=3; AR_REPEATS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --bandwidths) BANDWIDTHS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --allreduce-repeats) AR_REPEATS=$2; shift 2 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "bench-network: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "bench-network: $BIN not built: run make build" >&2; exit 1; }
CLUSTER=scripts/emulated-cluster.sh
trap '$CLUSTER down >&2 || true' EXIT
mkdir -p "$OUT"
CSV="$OUT/network.csv"; AR="$OUT/allreduce.csv"
echo "bandwidth_mbit,repeat,$("$BIN" bench --csv-header)" > "$CSV.tmp"
echo "bandwidth_mbit,ranks,bytes,allreduce_s,allreduce_min_s" > "$AR.tmp"
mbit() { case "$1" in none) echo 0 ;; *gbit) echo $(( ${1%gbit} * 1000 )) ;; *mbit) echo "${1%mbit}" ;; *) echo "?" ;; esac; }
# on_cluster CMD…: CMD under mpirun, 2 ranks, one per node, TCP on the emulated subnet only.
on_cluster() { $CLUSTER mpirun "$OUT" -np 2 "$@"; }
for bw in $BANDWIDTHS; do
  $CLUSTER down >/dev/null 2>&1 || true
  $CLUSTER up 2 --bandwidth "$bw" --out "$OUT" >&2
  echo "== $bw: allreduce sizes ==" >&2
  on_cluster "$BIN" bench --mode allreduce --steps "$AR_REPEATS" | tail -n +2 | sed "s/^/$(mbit "$bw"),/" >> "$AR.tmp"
  for rep in $(seq 1 "$REPEATS"); do
    for mode in $MODES; do
      for overlap in 1 0; do
        flags=(); [ "$overlap" = 0 ] && flags=(--no-overlap)
        echo "== $bw, $mode, overlap $overlap, repeat $rep/$REPEATS ==" >&2
        row=$(on_cluster "$BIN" bench --mode "$mode" --batch-size "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --threads 1 \
                "${flags[@]}" --csv | tail -1)
        echo "$(mbit "$bw"),$rep,$row" | tee -a "$CSV.tmp" >&2
      done
    done
  done
done
mv "$CSV.tmp" "$CSV"; mv "$AR.tmp" "$AR"
echo "bench-network: wrote $CSV and $AR" >&2
