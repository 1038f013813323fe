#!/usr/bin/env bash
# Runs a grid of `woof-dist train` runs one at a time, resumable, and collects every
# finished run's summary.json into one CSV (woof-dist study).
#
#   scripts/sweep.sh GRID [--out DIR] [--bin PATH] [--only NAME[,NAME…]] [--dry-run]
#
# GRID: one run per line, "<name> <train options…>"; '#' starts a comment. Runs go to
# DIR/runs/<name> (DIR defaults to output/study). A run with a summary.json is skipped,
# a run with a checkpoint is resumed, anything else starts fresh. Stop with Ctrl-C at any
# time and start the same command again to continue where it stopped.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage 0;; esac
grid=$1; shift
out=output/study; bin=${WOOF_BIN:-.build/release/woof-dist}; only=""; dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2;;
    --bin) bin=$2; shift 2;;
    --only) only=",$2,"; shift 2;;
    --dry-run) dry=1; shift;;
    -h|--help) usage 0;;
    *) echo "sweep: unknown option $1" >&2; usage;;
  esac
done
[ -f "$grid" ] || { echo "sweep: $grid: no such grid file" >&2; exit 1; }
[ -x "$bin" ] || [ $dry = 1 ] || { echo "sweep: $bin: not built (make build)" >&2; exit 1; }

mkdir -p "$out/runs"
declare -A seen=()
total=0; done_=0; failed=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  read -r name args <<<"$line" || true
  [ -n "${name:-}" ] || continue
  if ! [[ $name =~ ^[A-Za-z0-9._-]+$ ]]; then echo "sweep: $grid:$lineno: bad run name '$name'" >&2; exit 1; fi
  if [ -n "${seen[$name]:-}" ]; then echo "sweep: $grid:$lineno: run '$name' listed twice" >&2; exit 1; fi
  seen[$name]=1
  if [ -n "$only" ] && [[ $only != *",$name,"* ]]; then continue; fi
  total=$((total + 1))
  dir="$out/runs/$name"
  if [ -f "$dir/summary.json" ]; then echo "sweep: $name: done, skipped"; done_=$((done_ + 1)); continue; fi
  resume=""; [ -f "$dir/checkpoint.safetensors" ] || [ -f "$dir/linear_probe/checkpoint.safetensors" ] && resume="--resume"
  # shellcheck disable=SC2086  # the grid's options are meant to split into words
  cmd=("$bin" train --out "$dir" --checkpoint-every 50 $args $resume)
  echo "sweep: $name: ${resume:+resuming: }${cmd[*]}"
  [ $dry = 1 ] && continue
  mkdir -p "$dir"
  if "${cmd[@]}" >>"$dir/train.log" 2>&1; then
    done_=$((done_ + 1)); echo "sweep: $name: finished ($(date +%H:%M))"
  else
    failed=$((failed + 1)); echo "sweep: $name: FAILED, see $dir/train.log:" >&2; tail -3 "$dir/train.log" >&2
  fi
  [ -x "$bin" ] && "$bin" study --dir "$out" >/dev/null 2>&1 || true
done <"$grid"

echo "sweep: $done_/$total runs finished, $failed failed; runs in $out/runs"
[ $dry = 1 ] || "$bin" study --dir "$out" || true
[ $failed = 0 ]
