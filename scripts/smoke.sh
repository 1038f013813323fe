#!/usr/bin/env bash
# The `make` pipeline as a new user meets it, with a tiny budget: a fresh copy of this checkout
# (its tracked and new files as they are now) in a temporary directory beside a link to
# ../shared, a small ImageWoof subset as data/imagewoof2-320 (30 train and 20 val images per
# class; val has images from both ImageNet splits), then
#   EPOCHS=1 SCALING_FLAGS="--steps 1 --warmup 1" make
# through to report/build/paper.pdf and output/report.html (checked in headless Chromium, as
# `make check-report` does). Fails on any error, on a missing PDF, appendix or report, and on
# any tracked file the run changed or deleted (git status of the copy). Then builds the paper
# in every state of the results (scripts/paper-states.sh).
#
#   scripts/smoke.sh        SMOKE_KEEP=1 keeps the directory; it is kept on failure anyway
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "${WOOF_SHARED:-$ROOT/../shared}" 2>/dev/null && pwd) || { echo "smoke: no shared directory (${WOOF_SHARED:-$ROOT/../shared})" >&2; exit 1; }
SRC=$SHARED/data/imagewoof2-256
WEIGHTS=vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors
[ -d "$SRC/train" ] && [ -d "$SRC/val" ] || { echo "smoke: $SRC has no train/ and val/" >&2; exit 1; }
[ -f "$SHARED/weights/$WEIGHTS" ] || { echo "smoke: $SHARED/weights/$WEIGHTS missing" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/woof-smoke.XXXXXX")
COPY=$WORK/woof-dist
start=$(date +%s)
finish() {
  rc=$?
  if [ $rc -ne 0 ]; then echo "smoke: FAILED after $(( $(date +%s) - start )) s; the copy is kept in $COPY (log: $WORK/make.log)" >&2
  elif [ "${SMOKE_KEEP:-0}" = 1 ]; then echo "smoke: kept $COPY"
  else rm -rf "$WORK"; fi
}
trap finish EXIT

# A fresh copy: what a clone would hold, plus files not yet committed (ignored files excluded).
mkdir -p "$COPY"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done) > "$WORK/files"
tar -C "$ROOT" --null -T "$WORK/files" -cf - | tar -C "$COPY" -xf -
ln -s "$SHARED" "$WORK/shared"
(cd "$COPY" && git init -q && xargs -0 git add -f < "$WORK/files" \
  && git -c user.name=smoke -c user.email=smoke@localhost commit -qm "smoke snapshot")

# The data subset (symbolic links) and the weights, so `make` finds both without a download.
for split in train val; do
  for dir in "$SRC/$split"/*/; do
    cls=$(basename "$dir"); mkdir -p "$COPY/data/imagewoof2-320/$split/$cls"
    if [ $split = train ]; then names=$(ls "$dir" | sort | sed -n 1,30p)
    else names=$( { ls "$dir" | sort | sed -n 1,5p; ls "$dir" | sort | tail -n 15; } | sort -u); fi
    for n in $names; do ln -s "$dir$n" "$COPY/data/imagewoof2-320/$split/$cls/$n"; done
  done
done
mkdir -p "$COPY/weights" && ln -s "$SHARED/weights/$WEIGHTS" "$COPY/weights/$WEIGHTS"
echo "smoke: $COPY: $(find "$COPY/data/imagewoof2-320/train" -name '*.JPEG' | wc -l) train, $(find "$COPY/data/imagewoof2-320/val" -name '*.JPEG' | wc -l) val images"

cd "$COPY"
echo "smoke: EPOCHS=1 make (log: $WORK/make.log)"
EPOCHS=1 SCALING_FLAGS="--steps 1 --warmup 1" ATTN_FLAGS="--faithfulness-images 20" make 2>&1 | tee "$WORK/make.log"
pipeline_s=$(( $(date +%s) - start ))

fail() { echo "smoke: $*" >&2; exit 1; }
[ -s report/build/paper.pdf ] || fail "make exited 0 but report/build/paper.pdf is missing"
[ -s output/results/summary.json ] || fail "no output/results/summary.json"
[ -s output/attention/attention_faithfulness.csv ] || fail "no deletion test (output/attention/attention_faithfulness.csv)"
grep -q "pipeline run whose results are in" report/build/this_run.tex || fail "the paper's appendix does not describe this run"
changed=$(git status --porcelain)
[ -z "$changed" ] || fail "the pipeline changed the checkout (it must never touch committed files):
$changed"
echo "smoke: pipeline green in $pipeline_s s; git status clean; $(grep -o 'Output written.*' report/build/paper.log)"
[ -s output/report.html ] || fail "make exited 0 but output/report.html is missing"
scripts/check-report.sh --results output/results output/report.html || fail "the tiny run's HTML report fails its check"

scripts/paper-states.sh output
echo "smoke: all green in $(( $(date +%s) - start )) s"
