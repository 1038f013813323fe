#!/usr/bin/env bash
# Builds the paper in every state its results can be in, each in its own temporary directory:
#   main          a pipeline's output/ alone (main runs, scaling, attention; no study, no bench)
#   main-heldout  the same without the fine-tuned models' val predictions (no held-out analysis)
#   main+study    plus the recipe study
#   main+bench    plus the PyTorch comparison
#   everything    plus both
#   reference     the committed report/results/ as they are
# The study and bench inputs are the committed ones (report/results/ holds verbatim copies of
# output/study/*.csv and output/bench/bench.csv). Each state runs `woof-dist results`, checks
# the flags numbers.tex gives it, and builds the PDF with latexmk; any failure fails the script.
#
#   scripts/paper-states.sh OUTPUT_DIR     a finished pipeline's output/ (e.g. from make smoke);
#                                          PAPER_STATES_KEEP=1 keeps the PDFs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-$ROOT/.build/release/woof-dist}
[ $# -eq 1 ] && [ -f "$1/baseline/summary.json" ] || { echo "usage: $0 OUTPUT_DIR (a finished pipeline's output/)" >&2; exit 2; }
OUT=$(cd "$1" && pwd)
[ -x "$BIN" ] || { echo "paper-states: $BIN not built (make build)" >&2; exit 1; }
command -v latexmk >/dev/null || { echo "paper-states: latexmk missing (make tex-deps)" >&2; exit 1; }
REF=$ROOT/report/results
WORK=$(mktemp -d "${TMPDIR:-/tmp}/woof-paper-states.XXXXXX")
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "paper-states: failed; files kept in $WORK" >&2
  elif [ "${PAPER_STATES_KEEP:-0}" = 1 ]; then echo "paper-states: kept $WORK"; else rm -rf "$WORK"; fi' EXIT

mkdir -p "$WORK/inputs/study" "$WORK/inputs/bench"
for pair in study_runs.csv:runs.csv study_groups.csv:groups.csv study_per_class.csv:groups_per_class.csv study_ranks.csv:ranks.csv; do
  cp "$REF/${pair%%:*}" "$WORK/inputs/study/${pair##*:}"
done
cp "$REF/bench.csv" "$WORK/inputs/bench/bench.csv"

# state NAME EXPECTED-TRUE-FLAGS EXPECTED-FALSE-FLAGS [study] [bench]
state() {
  local name=$1 yes=$2 no=$3; shift 3
  local d=$WORK/$name
  mkdir -p "$d/output" "$d/report/build"
  cp report/paper.tex report/refs.bib "$d/report/"
  if [ "$name" = reference ]; then
    cp -r "$REF" "$d/report/results"
    "$BIN" results --tex-only --report-dir "$d/report/results" --readme '' 2> "$d/results.log"
  else
    for e in "$OUT"/*; do
      case "$(basename "$e")" in study|bench|results|results.md) ;; *) ln -s "$e" "$d/output/" ;; esac
    done
    if [ "$name" = main-heldout ]; then  # the models' files, but not their val predictions
      for m in full_model lora_model; do
        rm "$d/output/$m"; mkdir "$d/output/$m"
        for f in "$OUT/$m"/*; do [ "$(basename "$f")" = val_predictions.csv ] || ln -s "$f" "$d/output/$m/"; done
      done
    fi
    for extra in "$@"; do ln -s "$WORK/inputs/$extra" "$d/output/$extra"; done
    "$BIN" results --output "$d/output" --report-dir "$d/report/results" --readme '' --drop-missing > /dev/null 2> "$d/results.log" \
      || { tail -5 "$d/results.log" >&2; echo "paper-states: $name: woof-dist results failed" >&2; return 1; }
  fi
  "$BIN" results --tex-only --report-dir "$d/report/results" --readme '' --this-run "$OUT/results" \
    --this-run-tex "$d/report/build/this_run.tex" 2>> "$d/results.log"
  for f in $yes; do grep -q "^\\\\newif\\\\if$f\\\\${f}true" "$d/report/results/numbers.tex" \
    || { echo "paper-states: $name: \\if$f should be true" >&2; return 1; }; done
  for f in $no; do grep -q "^\\\\newif\\\\if$f\\\\${f}false" "$d/report/results/numbers.tex" \
    || { echo "paper-states: $name: \\if$f should be false" >&2; return 1; }; done
  (cd "$d/report" && latexmk -pdf -interaction=nonstopmode -halt-on-error -outdir=build paper.tex > build/latexmk.out 2>&1) \
    || { grep -A3 '^!' "$d/report/build/paper.log" >&2 || tail -20 "$d/report/build/latexmk.out" >&2
         echo "paper-states: $name: the paper does not build" >&2; return 1; }
  if grep -q "undefined" "$d/report/build/paper.log"; then
    grep "undefined" "$d/report/build/paper.log" | head -5 >&2; echo "paper-states: $name: undefined references" >&2; return 1
  fi
  echo "paper-states: $name: $(grep -o 'Output written.*' "$d/report/build/paper.log")"
}

state main "HeldoutAvailable" "StudyAvailable BenchAvailable"
state main-heldout "" "HeldoutAvailable StudyAvailable BenchAvailable"
state main+study "StudyAvailable" "BenchAvailable" study
state main+bench "BenchAvailable" "StudyAvailable" bench
state everything "StudyAvailable BenchAvailable" "" study bench
state reference "StudyAvailable BenchAvailable" ""
echo "paper-states: the paper builds in all 6 states"
