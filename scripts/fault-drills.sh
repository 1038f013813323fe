#!/usr/bin/env bash
# Long forms of the fault drills (the fast forms run in `make test`, FaultTests/MPITests):
#   1. safetensors fuzzing, 100,000+ cases                      (make fuzz does this alone)
#   2. kill -9 of a real ViT-Ti training run at a random step, then --resume:
#      final weights bit-identical to an uninterrupted run
#   3. mpirun -np 2: one rank killed mid-run → every rank exits, non-zero, within 15 s
#   4. disk full during a checkpoint write (a 6 MB tmpfs; needs root): clear error, the
#      previous checkpoint stays valid
#   5. Ctrl-C (SIGINT) of a real ViT-Ti run at a random moment: stops after its step with a
#      checkpoint (exit 130), and --resume ends with the uninterrupted run's model
#   6. outputs never overwritten: a second run into a busy --out, a new run over a finished
#      model, eval --predictions naming the model → each refused, the model unchanged
#   7. nothing silently wrong: unreadable training data, --resume with other --data, eval
#      on data with other classes, NaN in the weights → each refused, naming what
#   8. ranks that disagree: mpirun MPMD with another --lr on rank 1 → every rank exits
#      naming --lr and the ranks
#   9. limits: absurd --batch-size/--epochs/--lora-rank/--loader-workers refused with the
#      limit, a FIFO in the data tree refused by name, a SIGSTOPped rank ends the job with
#      that rank named
#  10. errors name the file: --out a file or unwritable, weights a directory, a checkpoint
#      with corrupt state; no raw Foundation/Decoding error text
#  11. the emulated cluster (scripts/emulated-cluster.sh; root): a 2-node run over TCP whose
#      node-1 rank is killed, then one whose node-1 link is cut (ip link set … down) → each
#      job ends, non-zero, naming node 1; the cluster comes down with nothing left
# Each drill prints PASS/FAIL with what it observed. Usage: scripts/fault-drills.sh [1 … 11]
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/woof-dist}
WORK=${WORK:-/tmp/woof-drills}
DRILLS=${*:-1 2 3 4 5 6 7 8 9 10 11}
DATA=${WOOF_DATA:-../shared/data/imagewoof2-256}
WEIGHTS=${WOOF_WEIGHTS:-../shared/weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors}
MPIRUN=(mpirun --oversubscribe); [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
mkdir -p "$WORK"
fail=0
report() { echo "drill $1: $2 — $3"; [ "$2" = PASS ] || [ "$2" = SKIP ] || fail=1; }
quick=(--mode lora --epochs 1 --limit 64 --eval-limit 32)
# refused NAME PATTERN CMD…: CMD must exit non-zero within 60 s with an "error:" line that
# matches PATTERN (an extended regex) and no raw Foundation / Swift error text.
refusals=(); refused_fail=0
refused() {
  local name=$1 pattern=$2; shift 2
  local out; out=$(timeout 60 "$@" 2>&1); local status=$?
  local msg; msg=$(echo "$out" | sed -n '/[Ee]rror:/,$p' | tr -s ' \n' ' ')   # the message and its detail lines
  if [ $status -ne 0 ] && [ $status -ne 124 ] && echo "$msg" | grep -Eq -- "$pattern" && \
     ! echo "$out" | grep -Eq "NSCocoaErrorDomain|DecodingError|Fatal error|Swift runtime failure"; then
    refusals+=("  ok   $name: ${msg#*rror: }")
  else
    refusals+=("  FAIL $name: exit $status, said: ${msg:-$(echo "$out" | tail -1)}"); refused_fail=1
  fi
}
# Prints the refusals collected since the last call and reports the drill.
settle() {
  printf '%s\n' "${refusals[@]}"
  [ $refused_fail = 0 ] && report "$1" PASS "${#refusals[@]} refusals, each naming the option or file" \
                        || report "$1" FAIL "see the lines above"
  refusals=(); refused_fail=0
}
# A small data root of symlinks: the first $2 images of each class's train/ and val/,
# for the classes listed in $3 (default: all).
mini_data() {
  local dir=$1 n=$2 classes=${3:-$(ls "$DATA/train")}
  rm -rf "$dir"
  for split in train val; do for c in $classes; do
    mkdir -p "$dir/$split/$c"
    ls "$DATA/$split/$c" | head -n "$n" | while read -r f; do ln -s "$(realpath "$DATA/$split/$c/$f")" "$dir/$split/$c/$f"; done
  done; done
}

# Drill 11's pieces. netrun NAME: a 2-node LoRA run on the emulated cluster, in the background.
CLUSTER=scripts/emulated-cluster.sh
netrun() {
  "$CLUSTER" mpirun "$WORK/cluster" -np 2 \
    "$(realpath "$BIN")" train --mode lora --epochs 1 --limit 2560 --eval-limit 32 --threads 1 --rank-timeout 6 \
    --data "$(realpath "$DATA")" --weights "$(realpath "$WEIGHTS")" --out "$WORK/$1" > "$WORK/$1.log" 2>&1 &
  netjob=$!
}
# The woof-dist process inside node K's namespace.
rank_on_node() { for p in $(ip netns pids "$WOOF_NETNS_PREFIX-n$1"); do grep -qa "woof-dist" "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1; }
# await_steps NAME: waits (≤ 180 s) until the run has trained a few steps.
await_steps() {
  local n; for _ in $(seq 180); do n=$(grep -c "img/s ETA" "$WORK/$1.log" 2>/dev/null); [ "${n:-0}" -ge 2 ] && return 0; sleep 1; done; return 1
}
# ended_within SECS: waits for the run; 0 when it ended in time (status in $netstatus), 1 when it hung.
ended_within() {
  local deadline=$(( $(date +%s) + $1 ))
  while kill -0 "$netjob" 2>/dev/null; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 1; done
  wait "$netjob"; netstatus=$?; return 0
}
# cut_or_kill NAME WHAT: starts a run, then kills node 1's rank (kill) or cuts its link (cut).
cut_or_kill() {
  rm -rf "$WORK/$1" "$WORK/$1.log"
  netrun "$1"
  local victim=""
  await_steps "$1" && victim=$(rank_on_node 1)
  if [ -z "$victim" ]; then
    refusals+=("  FAIL $2: the run never trained (log $WORK/$1.log)"); refused_fail=1; kill -9 "$netjob" 2>/dev/null; return
  fi
  local t0; t0=$(date +%s)
  case $2 in
    kill) kill -9 "$victim" ;;
    cut) ip -n "$WOOF_NETNS_PREFIX-br" link set vb1 down ;;
  esac
  if ! ended_within 90; then
    refusals+=("  FAIL $2 (node 1, pid $victim): the job still runs 90 s later (log $WORK/$1.log)"); refused_fail=1
    kill -9 "$netjob" 2>/dev/null; for k in 0 1; do for p in $(ip netns pids "$WOOF_NETNS_PREFIX-n$k"); do kill -9 "$p"; done; done
    return
  fi
  local secs=$(( $(date +%s) - t0 )) said
  # Killed: mpirun names the node. Cut: whichever notices first names it — mpirun, which loses
  # its daemon there (TCP keepalives), or rank 0's collective watchdog, which names the peer's host.
  case $2 in
    kill) said=$(grep -m1 -E "198\.18\.0\.11|$WOOF_NETNS_PREFIX-n1" "$WORK/$1.log" | cut -c1-220) ;;
    cut) said=$(grep -m1 -oE "rank 0 waited.*$WOOF_NETNS_PREFIX-n1.*|Remote daemon.*(198\.18\.0\.11|$WOOF_NETNS_PREFIX-n1)" "$WORK/$1.log" | cut -c1-300) ;;
  esac
  # Cut off, node 1's own processes cannot be told to stop: its rank's watchdog and its daemon's
  # keepalives must end them, within 30 s.
  local left waited=0
  while :; do
    left=$(for k in 0 1; do ip netns pids "$WOOF_NETNS_PREFIX-n$k"; done | wc -l)
    [ "$left" = 0 ] || [ $waited -ge 30 ] && break
    sleep 1; waited=$(( waited + 1 ))
  done
  if [ "$netstatus" -ne 0 ] && [ -n "$said" ] && [ "$left" = 0 ]; then
    refusals+=("  ok   $2 node 1 (its rank pid $victim): exit $netstatus after ${secs}s, no process left after $(( secs + waited ))s: $said")
  else
    local names; names=$(for k in 0 1; do for p in $(ip netns pids "$WOOF_NETNS_PREFIX-n$k"); do echo "n$k:$(ps -o comm= -p "$p")"; done; done | tr '\n' ' ')
    refusals+=("  FAIL $2: exit $netstatus after ${secs}s, $left processes left ($names), said: ${said:-nothing naming node 1} (log $WORK/$1.log)")
       refused_fail=1; fi
}
cluster_drill() {
  if [ "$(id -u)" != 0 ]; then report 11 SKIP "needs root for network namespaces"; return; fi
  export WOOF_NETNS_PREFIX=wooffd
  "$CLUSTER" down > /dev/null 2>&1
  if ! "$CLUSTER" up 2 --bandwidth 1gbit --out "$WORK/cluster" > "$WORK/cluster.log" 2>&1; then
    report 11 SKIP "no emulated cluster on this machine: $(tail -1 "$WORK/cluster.log")"; return
  fi
  cut_or_kill eleven-kill kill
  cut_or_kill eleven-cut cut
  "$CLUSTER" down > /dev/null || { refusals+=("  FAIL the cluster did not come down"); refused_fail=1; }
  [ -z "$(ip netns list | grep "^$WOOF_NETNS_PREFIX-")" ] || { refusals+=("  FAIL namespaces left: $(ip netns list | grep "^$WOOF_NETNS_PREFIX-")"); refused_fail=1; }
  settle 11
}

for d in $DRILLS; do case $d in
1)
  WOOF_FUZZ_CASES=${FUZZ_CASES:-100000} swift test -c release -Xswiftc -enable-testing --skip-build \
    --filter "SafeTensorsFuzzTests|JPEGFuzzTests" 2>&1 | grep -E "\[fuzz\]|error|Executed .* tests" | tee "$WORK/fuzz.log"
  grep -q "with 0 failures" "$WORK/fuzz.log" && report 1 PASS "$(grep -c '\[fuzz\]' "$WORK/fuzz.log") fuzz targets, no crash, every rejection with a message" \
                                            || report 1 FAIL "see $WORK/fuzz.log" ;;
2)
  common=(train --mode lora --epochs 2 --limit 192 --eval-limit 32 --checkpoint-every 2)
  rm -rf "$WORK/ref" "$WORK/killed"
  "$BIN" "${common[@]}" --out "$WORK/ref" > "$WORK/ref.log" 2>&1
  "$BIN" "${common[@]}" --out "$WORK/killed" > "$WORK/killed.log" 2>&1 &
  pid=$!; sleep $((8 + RANDOM % 20)); kill -9 $pid; wait $pid 2>/dev/null
  "$BIN" "${common[@]}" --out "$WORK/killed" --resume >> "$WORK/killed.log" 2>&1
  step=$(grep -o "resuming from .*" "$WORK/killed.log" | sed 's/.*: //')
  if cmp -s "$WORK/ref/model.safetensors" "$WORK/killed/model.safetensors"; then
    report 2 PASS "killed with SIGKILL (${step:-no checkpoint yet, restarted from scratch}), resumed: model.safetensors byte-identical to the uninterrupted run"
  else report 2 FAIL "resumed model differs (logs in $WORK)"; fi ;;
3)
  start=$(date +%s.%N)
  "${MPIRUN[@]}" -np 2 "$BIN" train --mode lora --epochs 1 --limit 640 --eval-limit 32 --out "$WORK/mpi-kill" > "$WORK/mpi-kill.log" 2>&1 &
  sleep 20
  victim=$(pgrep -f "woof-dist train --mode lora --epochs 1 --limit 640" | tail -1)
  t0=$(date +%s.%N); kill -9 "$victim"; wait %1; status=$?; t1=$(date +%s.%N)
  left=$(pgrep -f "woof-dist train --mode lora --epochs 1 --limit 640" | wc -l)
  secs=$(echo "$t1 - $t0" | bc)
  if [ "$status" -ne 0 ] && [ "$left" -eq 0 ] && [ "$(echo "$secs < 15" | bc)" = 1 ]; then
    report 3 PASS "killed one rank (pid $victim): job exited with status $status after ${secs}s, no rank left; mpirun said: $(grep -m1 -o 'process rank [0-9].*' "$WORK/mpi-kill.log")"
  else report 3 FAIL "status $status, ${secs}s, $left ranks left (log $WORK/mpi-kill.log)"; fi ;;
4)
  if [ "$(id -u)" != 0 ]; then report 4 SKIP "needs root to mount a small tmpfs"; continue; fi
  mnt="$WORK/full"; mkdir -p "$mnt"; umount "$mnt" 2>/dev/null; mount -t tmpfs -o size=6m tmpfs "$mnt"
  "$BIN" train --mode lora --epochs 1 --limit 256 --eval-limit 32 --checkpoint-every 1 --out "$mnt/run" > "$WORK/full.log" 2>&1; status=$?
  msg=$(grep -m1 "error:" "$WORK/full.log")
  if [ $status -ne 0 ] && echo "$msg" | grep -qi "space" && "$BIN" eval --help >/dev/null && \
     python3 - "$mnt/run/checkpoint.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
assert all(v["data_offsets"][1] + 8 + n <= len(b) for k, v in h.items() if k != "__metadata__")
print("previous checkpoint intact:", json.loads(h["__metadata__"]["state"])["step"], "steps")
PY
  then report 4 PASS "write failed with: ${msg#error: }; the previous checkpoint is complete and loads"
  else report 4 FAIL "status $status, message: $msg"; fi
  umount "$mnt" ;;
5)
  # Ctrl-C at a random moment: the run stops after its step with a checkpoint (exit 130),
  # and --resume ends with the model of an uninterrupted run.
  common=(train --mode lora --epochs 2 --limit 192 --eval-limit 32)
  rm -rf "$WORK/ref5" "$WORK/interrupted"
  "$BIN" "${common[@]}" --out "$WORK/ref5" > "$WORK/ref5.log" 2>&1
  "$BIN" "${common[@]}" --out "$WORK/interrupted" > "$WORK/interrupted.log" 2>&1 &
  pid=$!; sleep $((6 + RANDOM % 10)); kill -INT $pid; wait $pid; status=$?
  said=$(grep -o "stopped by SIGINT after step [0-9]*" "$WORK/interrupted.log")
  "$BIN" "${common[@]}" --out "$WORK/interrupted" --resume >> "$WORK/interrupted.log" 2>&1
  if [ "$status" = 130 ] && [ -n "$said" ] && cmp -s "$WORK/ref5/model.safetensors" "$WORK/interrupted/model.safetensors"; then
    report 5 PASS "SIGINT: '$said', exit 130; resumed: model.safetensors byte-identical to the uninterrupted run"
  else report 5 FAIL "exit $status, said '${said:-nothing}' (logs in $WORK)"; fi ;;
6)
  out="$WORK/six"; rm -rf "$out" "$WORK/six-eval"
  "$BIN" train "${quick[@]}" --out "$out" > "$WORK/six.log" 2>&1 &
  pid=$!; sleep 4
  refused "second run into a busy --out" "$out.*(in use|locked|another)" "$BIN" train "${quick[@]}" --out "$out"
  wait $pid || refusals+=("  FAIL the first run failed (log $WORK/six.log)")
  cp "$out/model.safetensors" "$WORK/six-model"; rm -f "$out/checkpoint.safetensors"
  refused "new run over a finished model" "resume|--out" "$BIN" train "${quick[@]}" --out "$out"
  refused "eval --predictions naming the model" "predictions.*(weights|input)|input.*output" \
    "$BIN" eval --weights "$out/model.safetensors" --limit 16 --predictions "$out/model.safetensors"
  cmp -s "$WORK/six-model" "$out/model.safetensors" && refusals+=("  ok   the finished model is unchanged (cmp)") \
                                                    || { refusals+=("  FAIL the finished model changed"); refused_fail=1; }
  settle 6 ;;
7)
  # Unreadable training images beside a readable val split (the val split is checked up
  # front; the loader must stop when it cannot fill a batch).
  mini_data "$WORK/unreadable" 4; bad="$WORK/unreadable"
  for c in $(ls "$bad/train"); do rm -f "$bad/train/$c"/*
    for i in 1 2 3 4 5 6 7 8; do head -c 3000 /dev/urandom > "$bad/train/$c/x$i.JPEG"; done; done
  refused "every training image unreadable" "JPEG|image|unreadable|decode" "$BIN" train "${quick[@]}" --data "$bad" --out "$WORK/seven-bad"
  mini_data "$WORK/mini" 8
  rm -rf "$WORK/seven"
  # A finished run keeps its checkpoint, so --resume applies to it as to a killed one.
  "$BIN" train "${quick[@]}" --checkpoint-every 2 --data "$WORK/mini" --out "$WORK/seven" > "$WORK/seven.log" 2>&1
  if [ -f "$WORK/seven/checkpoint.safetensors" ]; then
    refused "--resume with other --data" "--data" "$BIN" train "${quick[@]}" --checkpoint-every 2 --data "$DATA" --out "$WORK/seven" --resume
  else refusals+=("  FAIL the run left no checkpoint (log $WORK/seven.log)"); refused_fail=1; fi
  mini_data "$WORK/nine-classes" 4 "$(ls "$DATA/train" | head -9)"
  refused "eval of a 10-class model on data with 9 classes" "class" "$BIN" eval --weights "$WORK/seven/model.safetensors" --data "$WORK/nine-classes" --limit 16
  python3 - "$WEIGHTS" "$WORK/nan.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read()); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); start = 8 + n + h["blocks.3.attn.qkv.weight"]["data_offsets"][0]
b[start + 400:start + 404] = struct.pack("<f", float("nan")); open(sys.argv[2], "wb").write(b)
PY
  refused "a NaN in the pretrained weights" "blocks.3.attn.qkv.weight" "$BIN" train "${quick[@]}" --weights "$WORK/nan.safetensors" --out "$WORK/seven-nan"
  settle 7 ;;
8)
  start=$(date +%s)
  "${MPIRUN[@]}" -np 1 "$BIN" train "${quick[@]}" --lr 1e-3 --out "$WORK/eight" : -np 1 "$BIN" train "${quick[@]}" --lr 2e-3 --out "$WORK/eight" > "$WORK/eight.log" 2>&1; status=$?
  secs=$(( $(date +%s) - start ))
  said=$(grep -m1 -o "ranks disagree on --lr.*" "$WORK/eight.log")
  if [ $status -ne 0 ] && [ -n "$said" ] && [ $secs -lt 60 ]; then report 8 PASS "exit $status after ${secs}s: '$said'"
  else report 8 FAIL "exit $status after ${secs}s (log $WORK/eight.log)"; fi ;;
9)
  refused "--batch-size 10000000" "batch-size.*(at most|memory|limit)" "$BIN" train "${quick[@]}" --batch-size 10000000 --out "$WORK/nine-batch"
  refused "--epochs 9223372036854775807" "epochs must be in 1…10000" "$BIN" train "${quick[@]}" --epochs 9223372036854775807 --out "$WORK/nine-epochs"
  refused "--lora-rank 1000" "lora-rank 1000 is above the width" "$BIN" train "${quick[@]}" --lora-rank 1000 --out "$WORK/nine-rank"
  refused "--loader-workers 20000" "loader-workers.*(at most|limit)" "$BIN" train "${quick[@]}" --loader-workers 20000 --out "$WORK/nine-workers"
  mini_data "$WORK/fifo" 4; first=$(ls "$DATA/train" | head -1); mkfifo "$WORK/fifo/train/$first/pipe.JPEG"
  refused "a FIFO in the data tree" "pipe.JPEG" "$BIN" train "${quick[@]}" --data "$WORK/fifo" --out "$WORK/nine-fifo"
  "${MPIRUN[@]}" -np 2 "$BIN" train --mode lora --epochs 1 --limit 640 --eval-limit 32 --rank-timeout 10 --out "$WORK/nine-stop" > "$WORK/nine-stop.log" 2>&1 &
  sleep 20
  victim=$(pgrep -f "woof-dist train --mode lora --epochs 1 --limit 640 --eval-limit 32 --rank-timeout 10" | tail -1)
  t0=$(date +%s); kill -STOP "$victim"; wait %1; status=$?; secs=$(( $(date +%s) - t0 ))
  pkill -9 -f "rank-timeout 10 --out $WORK/nine-stop" 2>/dev/null
  said=$(grep -m1 -o "rank [0-9] waited.*" "$WORK/nine-stop.log")
  if [ $status -ne 0 ] && echo "$said" | grep -q "pid $victim) is stopped" && [ $secs -lt 40 ]; then
    refusals+=("  ok   SIGSTOP of rank pid $victim: job ended after ${secs}s: $said")
  else refusals+=("  FAIL SIGSTOP: exit $status after ${secs}s, said: ${said:-nothing} (log $WORK/nine-stop.log)"); refused_fail=1; fi
  settle 9 ;;
10)
  touch "$WORK/a-file"
  refused "--out is a file" "a-file" "$BIN" train "${quick[@]}" --out "$WORK/a-file"
  refused "--out under /proc" "/proc/woof" "$BIN" train "${quick[@]}" --out /proc/woof/run
  refused "weights is a directory" "$WORK" "$BIN" train "${quick[@]}" --weights "$WORK" --out "$WORK/ten"
  rm -rf "$WORK/ten"
  "$BIN" train "${quick[@]}" --checkpoint-every 1 --out "$WORK/ten" > "$WORK/ten.log" 2>&1
  python3 - "$WORK/ten/checkpoint.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); h["__metadata__"]["state"] = '{"step": "seven"}'
head = json.dumps(h).encode(); head += b" " * (-len(head) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(head)) + head + b[8 + n:])
PY
  refused "a checkpoint with corrupt state" "checkpoint.safetensors.*state" "$BIN" train "${quick[@]}" --checkpoint-every 1 --out "$WORK/ten" --resume
  settle 10 ;;
11) cluster_drill ;;
esac; done
exit $fail
