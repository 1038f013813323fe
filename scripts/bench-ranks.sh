#!/usr/bin/env bash
# Step time of LoRA training for each rank and target set of the rank sweep (study/ranks.grid),
# timed by `woof-dist bench` on synthetic input, in one invocation.
#
#   scripts/bench-ranks.sh [--steps N] [--rounds R] [--out DIR]
#
# The configurations are timed round-robin R times (default 3) and each row keeps the median
# of its rounds, so background load or VM drift hits every rank alike. A sweep run's own
# train time is not a speed measurement (evaluation, data loading and other work share it).
# Writes DIR/rank_bench.csv (default output/study), which `woof-dist study` joins to the ranks.
set -euo pipefail
steps=6; rounds=3; out=output/study
bin=${WOOF_BIN:-.build/release/woof-dist}; threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2;;
    --rounds) rounds=$2; shift 2;;
    --out) out=$2; shift 2;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "bench-ranks: unknown option $1" >&2; exit 2;;
  esac
done
[ -x "$bin" ] || { echo "bench-ranks: $bin not built (make build)" >&2; exit 1; }
# rank targets (alpha = 2 r, as in the sweep)
configs="1:qkv,proj,fc1,fc2 2:qkv,proj,fc1,fc2 4:qkv,proj,fc1,fc2 8:qkv,proj,fc1,fc2 16:qkv,proj,fc1,fc2 32:qkv,proj,fc1,fc2 8:qkv 8:qkv,proj"
mkdir -p "$out"
raw=$(mktemp); trap 'rm -f "$raw"' EXIT
for round in $(seq 1 "$rounds"); do
  for c in $configs; do
    r=${c%%:*}; t=${c#*:}
    line=$("$bin" bench --mode lora --lora-rank "$r" --lora-alpha $((2 * r)) --lora-targets "$t" \
             --steps "$steps" --warmup 2 --threads "$threads" 2>/dev/null | tail -1)
    echo "$line" >>"$raw"
    echo "round $round/$rounds r $r $t: $(echo "$line" | python3 -c 'import json,sys; print("%.1f img/s" % json.load(sys.stdin)["img_per_s"])')" >&2
  done
done
python3 - "$raw" "$out/rank_bench.csv" "$threads" <<'EOF'
import json, statistics, sys, os
rows = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    rows.setdefault((o["lora_rank"], o["lora_targets"]), []).append(o)
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as f:
    f.write("lora_rank,lora_targets,trainable_params,bytes_per_step,ms_per_step,img_per_s,peak_rss_mib,threads,rounds\n")
    for (r, t), os_ in rows.items():
        ms = statistics.median(o["ms_per_step"] for o in os_)
        o = os_[0]
        f.write(f"{r},{t},{o['trainable_params']},{o['allreduce_bytes_per_step']},{ms:.1f},{o['batch'] * 1000 / ms:.2f},"
                f"{max(x['peak_rss_mib'] for x in os_):.0f},{sys.argv[3]},{len(os_)}\n")
os.replace(tmp, sys.argv[2])
print(open(sys.argv[2]).read(), end="")
EOF
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads cores; wrote $out/rank_bench.csv" >&2
