#!/usr/bin/env bash
# Checks a self-contained HTML report in headless Chromium and saves a full-page screenshot.
# Fails (exit 1, one line per problem) unless
#   1. the page loads without a console.error call, an uncaught exception, an unhandled promise
#      rejection or a failed resource load (<img>, <script>, <link>, ... firing `error`);
#   2. every <img> decoded (complete && naturalWidth > 0);
#   3. there is at least one chart, and every svg.chart has a g.axis.x and a g.axis.y with at
#      least 2 non-empty <text> tick labels each, and at least one element of class `mark`;
#   4. with --results DIR: the headline numbers of DIR/summary.json (zero_shot_top1 if present,
#      full_top1, lora_top1; fractions, shown as percentages with two decimals, 0.94655 -> 94.66)
#      appear in the page's text (document.body.innerText).
# The screenshot is 1280 CSS px wide and as tall as the page (capped at 16000 px); it is taken
# even when a check fails, as long as the page loaded, since it helps to see what went wrong.
#
#   scripts/check-report.sh [--results DIR] [--screenshot PNG] REPORT.html
#
# How: the report is never modified. A copy with a small script injected as the first child of
# <head> (it records errors, and after `load` runs checks 2-3 and writes a JSON result into
# <pre id="woof-check-result">) is loaded with --dump-dom; the JSON is read back from the DOM.
# The copy sits next to the report under a hidden name so relative links resolve (or, if that
# directory is not writable, in a temporary directory with a <base href> pointing back) and is
# removed on exit. The screenshot is taken of the original file.
# Needs the `chromium` command (Debian package `chromium`; installed on demand when run as root).
set -euo pipefail

PROG=check-report
USAGE="usage: scripts/check-report.sh [--results DIR] [--screenshot PNG] REPORT.html"
PY=/usr/bin/python3
CHROMIUM_TIMEOUT=120   # seconds per chromium run; a hung page must not hang the pipeline
VIRTUAL_TIME_MS=10000  # virtual time the page gets to run its scripts and timers
SHOT_WIDTH=1280
MAX_SHOT_HEIGHT=16000  # beyond ~16k px Chromium's compositor cannot render one screenshot

die() { echo "$PROG: $*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Arguments
REPORT="" RESULTS="" SHOT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) echo "$USAGE"; exit 0 ;;
    --results) [ $# -ge 2 ] || die "--results needs a directory"; RESULTS=$2; shift 2 ;;
    --results=*) RESULTS=${1#*=}; shift ;;
    --screenshot) [ $# -ge 2 ] || die "--screenshot needs a file name"; SHOT=$2; shift 2 ;;
    --screenshot=*) SHOT=${1#*=}; shift ;;
    --) shift; break ;;
    -*) echo "$USAGE" >&2; die "unknown option $1" ;;
    *) [ -z "$REPORT" ] || { echo "$USAGE" >&2; die "only one report at a time"; }; REPORT=$1; shift ;;
  esac
done
if [ $# -gt 0 ]; then [ -z "$REPORT" ] && [ $# -eq 1 ] || { echo "$USAGE" >&2; exit 2; }; REPORT=$1; fi
[ -n "$REPORT" ] || { echo "$USAGE" >&2; exit 2; }
[ -f "$REPORT" ] && [ -r "$REPORT" ] || die "$REPORT: no such readable file"
[ -z "$RESULTS" ] || [ -d "$RESULTS" ] || die "--results $RESULTS: not a directory"
if [ -z "$SHOT" ]; then
  case "$REPORT" in *.html) SHOT=${REPORT%.html}.png ;; *.htm) SHOT=${REPORT%.htm}.png ;; *) SHOT=$REPORT.png ;; esac
fi
[ -x "$PY" ] || die "$PY not found (needed to read JSON)"
# Fail before the slow part rather than after it.
SHOT_DIR=$(dirname -- "$SHOT")
if [ -d "$SHOT_DIR" ]; then [ -w "$SHOT_DIR" ] || die "cannot write the screenshot $SHOT: $SHOT_DIR is not writable (use --screenshot PNG)"
else mkdir -p -- "$SHOT_DIR" 2>/dev/null || die "cannot create $SHOT_DIR for the screenshot"; fi

# ---------------------------------------------------------------------------------------------
# Chromium: Debian's package. Installed here only as root; otherwise say what is missing.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$PROG: chromium not found; installing it with apt-get" >&2
    # An image without package lists needs an update first; try without it to stay quick.
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2 \
      || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2; } \
      || die "could not install chromium with apt-get"
    command -v chromium >/dev/null 2>&1 || die "chromium still not on PATH after apt-get install"
  else
    die "chromium not found on PATH; install Debian's package: sudo apt-get install chromium"
  fi
}

# ---------------------------------------------------------------------------------------------
# Temporary files: a work directory (profile, helper, logs, dumped DOM) and the instrumented copy.
WORK="" COPY=""
cleanup() {
  [ -z "$COPY" ] || rm -f -- "$COPY"
  [ -z "$WORK" ] || rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# On a chromium failure its stderr is the only clue; keep it outside the work directory.
keep_log() {
  local kept
  kept=$(mktemp "${TMPDIR:-/tmp}/check-report.XXXXXX.log")
  cat "$1" > "$kept"
  echo "$kept"
}

# One headless chromium run with a throw-away profile (no clash with other runs, nothing left
# in ~/.config). --no-sandbox: root cannot use the sandbox. stderr (dbus/GPU noise) goes to $1.
run_chromium() {
  local log=$1; shift
  timeout "$CHROMIUM_TIMEOUT" chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$WORK/profile" --no-first-run --no-default-browser-check \
    --force-device-scale-factor=1 --virtual-time-budget="$VIRTUAL_TIME_MS" "$@" 2>"$log"
}

# ---------------------------------------------------------------------------------------------
# The script injected into the copy. Kept free of page-visible globals except the result <pre>.
write_probe_js() {
  cat > "$WORK/probe.js" <<'JS'
(function () {
  'use strict';
  var LINE_SHIFT = __LINE_SHIFT__;   // lines this injection adds before the page's own code
  var problems = [];                 // one string per problem
  var result = null;                 // set once the checks ran; republished on later problems
  // Reports can be megabytes of data: URIs; never copy a URL or message whole into the result.
  function short(s, n) {
    s = String(s); n = n || 160;
    return s.length > n ? s.slice(0, n) + '... (' + s.length + ' chars)' : s;
  }
  function add(msg) {
    if (problems.length < 200) problems.push(short(msg, 400));
    if (result) publish();
  }
  function where(file, line) {
    if (!file || file === location.href) return line ? ' (line ' + (line - LINE_SHIFT) + ')' : '';
    return ' (' + short(file, 120) + (line ? ':' + line : '') + ')';
  }
  function fmt(v) {
    if (v instanceof Error) return v.stack ? String(v.stack).split('\n')[0] : String(v);
    if (typeof v === 'object' && v !== null) { try { return JSON.stringify(v); } catch (e) { return String(v); } }
    return String(v);
  }
  // One capture-phase listener sees both kinds of `error`: uncaught exceptions (an ErrorEvent
  // on window) and failed resource loads (a plain Event on the element; it does not bubble, so
  // only capture sees it). A listener, unlike window.onerror, cannot be replaced by the page.
  window.addEventListener('error', function (e) {
    if (e instanceof ErrorEvent) {
      // A script from another file:// URL is cross-origin: the browser hides its details.
      var hidden = e.message === 'Script error.' && !e.filename ? ' (in an external script; the browser hides the details)' : '';
      add('uncaught exception: ' + e.message + where(e.filename, e.lineno) + hidden);
    } else if (e.target && e.target !== window) {
      var el = e.target, tag = (el.tagName || '?').toLowerCase();
      var url = el.currentSrc || el.src || el.href || (el.getAttribute && (el.getAttribute('src') || el.getAttribute('href'))) || '';
      if (url && url.baseVal !== undefined) url = url.baseVal;   // SVG <image href>
      add('failed to load <' + tag + '> ' + short(url, 100));
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    add('unhandled promise rejection: ' + fmt(e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    add('console.error: ' + Array.prototype.map.call(arguments, fmt).join(' '));
    return consoleError.apply(console, arguments);
  };

  function publish() {
    var pre = document.getElementById('woof-check-result');
    if (!pre) {
      pre = document.createElement('pre');
      pre.id = 'woof-check-result';
      pre.hidden = true;
      (document.body || document.documentElement).appendChild(pre);
    }
    result.problems = problems;
    pre.textContent = JSON.stringify(result);
  }

  function chartName(svg, i) {
    var t = svg.querySelector('title');
    var label = svg.id ? '#' + svg.id : (svg.getAttribute('aria-label') || (t && t.textContent) || '');
    label = label.trim();
    return 'chart ' + (i + 1) + (label ? ' "' + short(label, 60) + '"' : '');
  }
  function axisProblem(svg, which) {
    var g = svg.querySelector('g.axis.' + which);
    if (!g) return 'has no ' + which + ' axis (g.axis.' + which + ')';
    var n = 0;
    Array.prototype.forEach.call(g.querySelectorAll('text'), function (t) { if (t.textContent.trim()) n++; });
    return n >= 2 ? null : which + ' axis has ' + n + ' tick label(s), needs at least 2';
  }

  function runChecks() {
    var body = document.body;
    var r = {
      text: body ? body.innerText : '',
      height: Math.max(document.documentElement.scrollHeight, body ? body.scrollHeight : 0),
      images: document.images.length,
      charts: 0,
      checks: []
    };
    Array.prototype.forEach.call(document.images, function (img, i) {
      if (!(img.complete && img.naturalWidth > 0)) {
        var src = img.getAttribute('src') || '(no src)';
        r.checks.push('image ' + (i + 1) + ' of ' + document.images.length + ' did not decode: ' +
          (img.alt ? 'alt "' + short(img.alt, 60) + '", ' : '') + 'src ' + short(src, 80));
      }
    });
    var svgs = document.querySelectorAll('svg.chart');
    r.charts = svgs.length;
    if (!svgs.length) r.checks.push('no chart (svg.chart) on the page');
    Array.prototype.forEach.call(svgs, function (svg, i) {
      var name = chartName(svg, i);
      ['x', 'y'].forEach(function (a) { var p = axisProblem(svg, a); if (p) r.checks.push(name + ' ' + p); });
      if (!svg.querySelector('.mark')) r.checks.push(name + ' has no marks (element with class "mark")');
    });
    result = r;
    publish();
  }

  // After `load` (all images fetched), give decoding and the page's own load handlers a moment.
  // Lazy images below the fold would never load headless: switch them to eager and wait (in
  // virtual time, so waiting costs little) until all are complete or the tries run out.
  var tries = 0;
  function settle() {
    try {
      var pending = Array.prototype.filter.call(document.images, function (img) { return !img.complete; });
      pending.forEach(function (img) { if (img.loading === 'lazy') img.loading = 'eager'; });
      if (pending.length && tries++ < 20) { setTimeout(settle, 250); return; }
      runChecks();
    } catch (e) {
      result = { text: '', height: 0, images: 0, charts: 0, checks: ['checker failed inside the page: ' + fmt(e)] };
      publish();
    }
  }
  window.addEventListener('load', function () { setTimeout(settle, 300); });
})();
JS
}

# ---------------------------------------------------------------------------------------------
# Python helper: HTML injection, reading the result back, summary.json, PNG size.
write_helper_py() {
  cat > "$WORK/helper.py" <<'PY'
import html, json, math, pathlib, re, struct, sys
from decimal import Decimal, ROUND_HALF_EVEN, ROUND_HALF_UP

MARK = '<pre id="woof-check-result"'
HEADLINE = ["zero_shot_top1", "full_top1", "lora_top1"]
REQUIRED = ["full_top1", "lora_top1"]


def uri(path):
    print(pathlib.Path(path).resolve().as_uri())


def inject(src, dst, base_href, probe):
    data = pathlib.Path(src).read_bytes()
    # Chromium takes <meta charset> only from the first 1024 bytes; the probe would push the
    # page's own declaration out of that window, so repeat it ahead of the probe.
    m = re.search(rb'<meta[^>]+charset\s*=\s*["\']?\s*([A-Za-z0-9_.:-]+)', data[:1024], re.I)
    pre = b'<meta charset="%s">' % m.group(1) if m else b''
    if base_href:
        pre += b'<base href="%s">' % html.escape(base_href).encode()
    js = pathlib.Path(probe).read_text()
    # The first child of <head>; else straight after <html>; else after the doctype; else first.
    for pat in (rb'<head(?=[\s>/])[^>]*>', rb'<html(?=[\s>])[^>]*>', rb'<!doctype[^>]*>'):
        m = re.search(pat, data, re.I)
        if m:
            at = m.end()
            break
    else:
        at = 0
    # Line numbers of inline-script errors are shifted by the lines the probe adds.
    shift = js.count('\n')
    js = js.replace('__LINE_SHIFT__', str(shift))
    chunk = pre + b'<script>' + js.encode() + b'</script>'
    pathlib.Path(dst).write_bytes(data[:at] + chunk + data[at:])


def renderings(v):
    """The ways a fraction may be shown as a percentage with two decimals; the first is the
    one we name. Exact halves can round either way depending on the generator's language."""
    first = f"{v * 100:.2f}"
    d = Decimal(repr(v)) * 100
    others = {str(d.quantize(Decimal("0.01"), rounding=r)) for r in (ROUND_HALF_UP, ROUND_HALF_EVEN)}
    return [first] + sorted(others - {first})


def headline(results_dir, text, label, problems):
    """Returns how many headline numbers were found; appends problems."""
    path = pathlib.Path(results_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        problems.append(f"{path} does not exist"); return 0
    except (OSError, ValueError) as e:
        problems.append(f"{path} is not readable JSON: {e}"); return 0
    if not isinstance(summary, dict):
        problems.append(f"{path} is not a JSON object"); return 0
    missing = [k for k in REQUIRED if k not in summary]
    if missing:
        problems.append(f"{path} lacks {', '.join(missing)} (needed for the headline check)")
    found = 0
    for key in HEADLINE:
        if key not in summary:
            continue
        v = summary[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
            problems.append(f"{path}: {key} = {v!r} is not a fraction in [0,1]"); continue
        forms = renderings(float(v))
        if any(re.search(r"(?<!\d)" + re.escape(f) + r"(?!\d)", text) for f in forms):
            found += 1
        else:
            problems.append(f"headline number {key} = {v} (\"{forms[0]}\") not found in the page text")
    return found


def evaluate(dom_file, label, results_dir, stats_file):
    dom = pathlib.Path(dom_file).read_text(errors="replace")
    start = dom.rfind(MARK)
    if start < 0:
        print(f"{label}: the page produced no check result (it did not finish loading, or a "
              "script blocked the checker)", file=sys.stderr)
        return 3
    start = dom.index(">", start) + 1
    end = dom.index("</pre>", start)
    r = json.loads(html.unescape(dom[start:end]))
    problems = list(r["problems"]) + list(r["checks"])
    found = headline(results_dir, r["text"], label, problems) if results_dir else -1
    for p in problems:
        print(f"{label}: {p}", file=sys.stderr)
    pathlib.Path(stats_file).write_text(f'{r["charts"]} {r["images"]} {found} {int(r["height"])}\n')
    return 1 if problems else 0


def pngsize(path):
    head = pathlib.Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        print("0 0"); return
    print(*struct.unpack(">II", head[16:24]))


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "uri": uri(*args)
elif cmd == "inject": inject(*args)
elif cmd == "evaluate":
    try:
        sys.exit(evaluate(*args))
    except (OSError, ValueError, KeyError) as e:   # a garbled result: not the page's fault
        print(f"{args[1]}: could not read the check result back: {e!r}", file=sys.stderr)
        sys.exit(4)
elif cmd == "pngsize": pngsize(*args)
else: sys.exit(f"helper: unknown command {cmd}")
PY
}
helper() { "$PY" "$WORK/helper.py" "$@"; }

# ---------------------------------------------------------------------------------------------
# Pass 1: the instrumented copy, dumped after load; checks 1-4 and the page height.
# Sets HEIGHT and the counts; returns 1 if a check failed, 3 if there was no result at all.
# Called as `check_page || ...`, so set -e is off in here: each step is checked by hand.
check_page() {
  local dir base="" url rc=0
  dir=$(dirname -- "$REPORT")
  # Next to the original so relative <img src> etc. resolve as they do for a reader.
  if COPY=$(mktemp --suffix=.html "$dir/.check-report.XXXXXX" 2>/dev/null); then :; else
    COPY=$WORK/copy.html
    base=$(helper uri "$dir")/
  fi
  helper inject "$REPORT" "$COPY" "$base" "$WORK/probe.js" && url=$(helper uri "$COPY") \
    || { echo "$PROG: $REPORT: could not make the instrumented copy" >&2; return 3; }
  # The same width as the screenshot, so the measured height is that of the same layout.
  run_chromium "$WORK/dump.log" --window-size="$SHOT_WIDTH",800 --dump-dom "$url" > "$WORK/dom.html" || rc=$?
  rm -f -- "$COPY"; COPY=""
  if [ $rc -ne 0 ]; then
    [ $rc -eq 124 ] && echo "$PROG: $REPORT: chromium timed out after $CHROMIUM_TIMEOUT s" >&2 \
                    || echo "$PROG: $REPORT: chromium failed (exit $rc)" >&2
    echo "$PROG: chromium's log: $(keep_log "$WORK/dump.log")" >&2
    return 3
  fi
  rc=0
  helper evaluate "$WORK/dom.html" "$PROG: $REPORT" "$RESULTS" "$WORK/stats" || rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then   # 3: no result in the DOM; else: the helper broke
    echo "$PROG: chromium's log: $(keep_log "$WORK/dump.log")" >&2
    return 3
  fi
  read -r CHARTS IMAGES NUMBERS HEIGHT < "$WORK/stats" || { echo "$PROG: $REPORT: no stats" >&2; return 3; }
  return $rc
}

# Pass 2: the screenshot of the original, with the window as tall as the page measured above.
# Called as `take_screenshot || ...`, so set -e is off in here: each step is checked by hand.
take_screenshot() {
  local h=$HEIGHT rc=0 size shot_abs url
  [ "$h" -ge 100 ] || h=100
  [ "$h" -le "$MAX_SHOT_HEIGHT" ] || h=$MAX_SHOT_HEIGHT
  # The old screenshot goes first, so that a stale file cannot pass for a new one.
  mkdir -p -- "$(dirname -- "$SHOT")" && shot_abs="$(cd "$(dirname -- "$SHOT")" && pwd)/$(basename -- "$SHOT")" \
    && rm -f -- "$SHOT" && url=$(helper uri "$REPORT") \
    || { echo "$PROG: $REPORT: cannot write the screenshot $SHOT" >&2; return 1; }
  run_chromium "$WORK/shot.log" --hide-scrollbars --window-size="$SHOT_WIDTH,$h" \
    --screenshot="$shot_abs" "$url" > /dev/null || rc=$?
  if [ $rc -ne 0 ] || [ ! -s "$SHOT" ]; then
    echo "$PROG: $REPORT: screenshot $SHOT failed (chromium exit $rc); log: $(keep_log "$WORK/shot.log")" >&2
    return 1
  fi
  size=$(helper pngsize "$SHOT") || size="? ?"
  SHOT_SIZE="${size% *}×${size#* }"
  [ "$HEIGHT" -le "$MAX_SHOT_HEIGHT" ] || SHOT_SIZE="$SHOT_SIZE, page is $HEIGHT px tall, cut at $MAX_SHOT_HEIGHT"
}

# ---------------------------------------------------------------------------------------------
main() {
  ensure_chromium
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-report.XXXXXX")
  write_probe_js
  write_helper_py
  local checks=0 shot=0 numbers=""
  check_page || checks=$?
  # Nothing loaded: there is no height to take a screenshot with.
  [ $checks -ne 3 ] || { echo "$PROG: $REPORT FAILED" >&2; exit 1; }
  take_screenshot || shot=1
  if [ $checks -ne 0 ] || [ $shot -ne 0 ]; then
    echo "$PROG: $REPORT FAILED${SHOT_SIZE:+ (screenshot $SHOT, $SHOT_SIZE)}" >&2
    exit 1
  fi
  [ "$NUMBERS" -lt 0 ] || numbers=", $NUMBERS headline numbers found"
  echo "$PROG: $REPORT ok — $CHARTS charts, $IMAGES images$numbers; screenshot $SHOT ($SHOT_SIZE)"
}
SHOT_SIZE=""
main
