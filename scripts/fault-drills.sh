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
# Each drill prints PASS/FAIL with what it observed. Usage: scripts/fault-drills.sh [1 2 3 4 5]
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/woof-dist}
WORK=${WORK:-/tmp/woof-drills}
DRILLS=${*:-1 2 3 4 5}
MPIRUN=(mpirun --oversubscribe); [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
mkdir -p "$WORK"
fail=0
report() { echo "drill $1: $2 — $3"; [ "$2" = PASS ] || fail=1; }
same_weights() { cmp -s <(tail -c +1 "$1") <(tail -c +1 "$2"); }

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
esac; done
exit $fail
