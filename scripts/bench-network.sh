#!/usr/bin/env bash
# Data-parallel steps over a real (emulated) network: 2 nodes of scripts/emulated-cluster.sh,
# one rank and one compute thread each (the 2 cores are not oversubscribed), OpenMPI over TCP
# on the emulated subnet only. For each bandwidth cap, mode and overlap setting it times
# training steps on synthetic input (woof-dist bench) and writes
#   output/network/network.csv   bandwidth_mbit,ranks,mode,threads_per_rank,batch,img_per_s,
#                                compute_s_per_step,comm_s_per_step,bytes_per_step,oversubscribed,overlap
# 'none' means no cap (the veth's own speed). Needs root. The cluster is taken down at the end,
# also on failure or Ctrl-C.
#
#   scripts/bench-network.sh [--bandwidths "100mbit 1gbit 10gbit none"] [--modes "full lora"] [--steps 4] [--warmup 1]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release/woof-dist}
OUT=${OUT:-output/network}
BANDWIDTHS="100mbit 1gbit 10gbit none"; MODES="full lora"; STEPS=4; WARMUP=1; BATCH=32
while [ $# -gt 0 ]; do
  case "$1" in
    --bandwidths) BANDWIDTHS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "bench-network: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "bench-network: $BIN not built: run make build" >&2; exit 1; }
CLUSTER=scripts/emulated-cluster.sh
trap '$CLUSTER down >&2 || true' EXIT
mkdir -p "$OUT"
CSV="$OUT/network.csv"
echo "bandwidth_mbit,$("$BIN" bench --csv-header)" > "$CSV.tmp"
mbit() { case "$1" in none) echo 0 ;; *gbit) echo $(( ${1%gbit} * 1000 )) ;; *mbit) echo "${1%mbit}" ;; *) echo "?" ;; esac; }
for bw in $BANDWIDTHS; do
  $CLUSTER down >/dev/null 2>&1 || true
  $CLUSTER up 2 --bandwidth "$bw" --out "$OUT" >&2
  for mode in $MODES; do
    for overlap in 1 0; do
      flags=(); [ "$overlap" = 0 ] && flags=(--no-overlap)
      echo "== $bw, $mode, overlap $overlap ==" >&2
      row=$($CLUSTER exec 0 mpirun --allow-run-as-root --bind-to none --hostfile "$OUT/hostfile" -np 2 \
              --mca plm_rsh_agent "$PWD/scripts/netns-agent.sh" \
              --mca oob_tcp_if_include 198.18.0.0/24 --mca btl_tcp_if_include 198.18.0.0/24 --mca btl self,tcp \
              "$BIN" bench --mode "$mode" --batch-size "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --threads 1 \
              "${flags[@]}" --csv | tail -1)
      echo "$(mbit "$bw"),$row" >> "$CSV.tmp"
      echo "$(mbit "$bw"),$row" >&2
    done
  done
done
mv "$CSV.tmp" "$CSV"
echo "bench-network: wrote $CSV" >&2
