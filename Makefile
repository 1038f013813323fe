# woof-dist — build, test and the LoRA-vs-full study.
#   make          the pipeline: build, data + weights, zero-shot baseline, full FT and LoRA
#                 (5 epochs each), attention, scaling, results, the paper if LaTeX is there.
#                 Every stage resumes/skips. About 2 hours on 2 cores.
#   make study    the recipe study beyond it (the paper's study section): head init × mode, LP-FT, LoRA rank
#                 and target sweep, seeds — study/*.grid through scripts/sweep.sh into
#                 output/study/ (runs.csv, groups.csv, plots). LONG: ~15 hours on 2 cores;
#                 resumable, run it again to continue. STUDY_GRIDS=… picks grids.
#   make report   install TeX Live if missing and build report/build/paper.pdf
#   make test     the test suite (what CI runs)
#   make smoke    the whole `make` pipeline on a fresh copy in a temporary directory, with a
#                 tiny budget (1 epoch, 30 train / 20 val images per class), through the PDF
#   make publish-results   adopt output/ as the committed reference results (report/results/,
#                 README table); refuses to drop study/bench results output/ lacks
#   make demo     one training step of ViT-Ti, full and LoRA, and one forward (images/s)
#   make deps     install missing Debian packages (root, or sudo)
#   make build    release build of .build/release/woof-dist
#   make bench    the speed benchmarks (images/s), full, lora and eval

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
SWIFT ?= swift
SHARED ?= ../shared
# Tests read the golden tensors and weights from here.
export WOOF_SHARED ?= $(abspath $(SHARED))
BIN := .build/release/woof-dist
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libjpeg-dev libpng-dev pkg-config iproute2 iputils-ping
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: weightspace publish-weightspace bench-network publish-network publish-bench publish-attention report-html check-report smoke publish-results all pipeline predictions study bench-pytorch demo deps build test bench clean data weights baseline full lora results fuzz drills scaling attention report paper tex-deps

all: pipeline

WEIGHTS_FILE := vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors
WEIGHTS_URL := https://huggingface.co/timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k/resolve/main/model.safetensors
DATA_URL := https://s3.amazonaws.com/fast-ai-imageclas/imagewoof2-320.tgz
EPOCHS ?= 5
TRAIN_FLAGS ?=

pipeline: build data weights baseline full lora predictions attention scaling results report-html
	@if command -v pdflatex >/dev/null 2>&1 && command -v latexmk >/dev/null 2>&1; then $(MAKE) --no-print-directory paper; \
	else echo "(LaTeX is not installed: 'make report' installs TeX Live and builds the paper)"; fi
	@echo
	@echo "== done =="
	@echo "  results:  output/results.md; output/results/ (summary.json, CSVs; the paper's appendix compares them with report/results/)"
	@echo "  models:   output/full_model, output/lora_model (timm safetensors; LoRA adapter in output/lora_model/adapter)"
	@echo "  report:   output/report.html (open it in a browser: tables, charts, attention maps)"
	@echo "  paper:    report/build/paper.pdf$$([ -f report/build/paper.pdf ] || echo ' (not built: make report)')"

# ImageWoof: download fast.ai's imagewoof2-320 when the network allows, else use ../shared.
data:
	@if [ -d data/imagewoof2-320/train ]; then echo "data: data/imagewoof2-320"; \
	elif mkdir -p data && curl -fsSL --connect-timeout 10 -o data/imagewoof2-320.tgz.part $(DATA_URL) 2>/dev/null; then \
	  mv data/imagewoof2-320.tgz.part data/imagewoof2-320.tgz && tar -xzf data/imagewoof2-320.tgz -C data && rm data/imagewoof2-320.tgz && echo "data: downloaded data/imagewoof2-320"; \
	elif [ -d $(SHARED)/data/imagewoof2-256/train ]; then rm -f data/imagewoof2-320.tgz.part; echo "data: no download possible; using the shared copy $(SHARED)/data/imagewoof2-256"; \
	else echo "data: cannot download $(DATA_URL) and no $(SHARED)/data/imagewoof2-256" >&2; exit 1; fi

# Pretrained weights: timm's hub file when reachable, else ../shared/weights.
weights:
	@if [ -f weights/$(WEIGHTS_FILE) ]; then echo "weights: weights/$(WEIGHTS_FILE)"; \
	elif mkdir -p weights && curl -fsSL --connect-timeout 10 -o weights/$(WEIGHTS_FILE).part $(WEIGHTS_URL) 2>/dev/null; then \
	  mv weights/$(WEIGHTS_FILE).part weights/$(WEIGHTS_FILE) && echo "weights: downloaded weights/$(WEIGHTS_FILE)"; \
	elif [ -f $(SHARED)/weights/$(WEIGHTS_FILE) ]; then rm -f weights/$(WEIGHTS_FILE).part; echo "weights: no download possible; using $(SHARED)/weights/$(WEIGHTS_FILE)"; \
	else echo "weights: cannot download $(WEIGHTS_URL) and no shared copy" >&2; exit 1; fi

baseline: output/baseline/summary.json
output/baseline/summary.json: | build
	@mkdir -p output/baseline
	$(BIN) eval --zero-shot --predictions output/baseline/predictions.csv --summary $@.tmp > output/baseline/eval.txt
	@mv $@.tmp $@; cat output/baseline/eval.txt

# Training stages: resume a half-finished run, skip a finished one. Ctrl-C stops training
# after the current step with a checkpoint (the next `make` resumes); `tee -i` keeps the log
# open meanwhile, so the run is not killed by a closed pipe while it saves.
full: output/full_model/summary.json
lora: output/lora_model/summary.json
output/%_model/summary.json: | build
	@mkdir -p output/$*_model
	$(BIN) train --mode $* --epochs $(EPOCHS) --out output/$*_model $(TRAIN_FLAGS) \
	  $$([ -f output/$*_model/checkpoint.safetensors ] && echo --resume) 2>&1 | tee -i -a output/$*_model/train.log

# Per-image val predictions of the fine-tuned models (the paper's held-out split). `train`
# writes them from its final evaluation on the whole val split; this evaluates a model again
# only when they are missing or older than the run (resumed after its last epoch, --eval-limit).
predictions: output/full_model/val_predictions.csv output/lora_model/val_predictions.csv
output/%_model/val_predictions.csv: output/%_model/summary.json | build
	$(BIN) eval --weights output/$*_model/model.safetensors --predictions $@.tmp --summary output/$*_model/val_eval.json > output/$*_model/val_eval.txt
	@mv $@.tmp $@

ATTN_FLAGS ?=
# Attention of the original ViT, full FT and LoRA → output/attention/: per-image maps (maps/,
# described by grid.json: last-block CLS attention, rollout, relevance for the true and the
# predicted class), attention_change.csv (JS divergence, mask IoU), attention_stats.csv, the
# high-norm patches (attention_artifacts.csv) and the deletion test on 500 val images
# (attention_faithfulness.csv; about 45 minutes on 2 cores; ATTN_FLAGS=--faithfulness-images N).
attention: output/attention/attention_change.csv
output/attention/attention_change.csv: output/full_model/summary.json output/lora_model/summary.json | build
	$(BIN) attention --models pretrained,output/full_model,output/lora_model --out output/attention $(ATTN_FLAGS)

# The results of this run: output/results.md and output/results/ (summary.json, CSVs, tables),
# with the study's output/study/ and output/bench/ when present. The committed reference
# results (report/results/, the README's table) are never touched by a run: the paper reports
# them and sets this run beside them in an appendix. `make publish-results` adopts output/ as
# the new reference (it refuses to drop a study or bench section output/ lacks; add
# PUBLISH_FLAGS=--drop-missing to mean it).
# The recipe study: grids run in order, one run at a time; finished runs are skipped, a
# half-finished one resumes. The 5-epoch plain runs double as seed 0 of the seed grid. The
# rank sweep's step times come from scripts/bench-ranks.sh (about 5 minutes; kept once made).
STUDY_GRIDS ?= study/recipes.grid study/ranks.grid study/seeds.grid
study: build data weights full lora
	@mkdir -p output/study/runs
	@for m in full lora; do [ -e output/study/runs/plain-$$m ] || ln -s ../../$${m}_model output/study/runs/plain-$$m; done
	@for g in $(STUDY_GRIDS); do scripts/sweep.sh $$g --bin $(BIN) || exit 1; done
	@[ -f output/study/rank_bench.csv ] || WOOF_BIN=$(BIN) scripts/bench-ranks.sh --out output/study
	$(BIN) study --dir output/study
	@$(MAKE) --no-print-directory results
	@echo "study: output/results/ has the study; 'make publish-results' makes it the paper's reference"

# The weight-space study (WiSE-FT and model soups): the best and plain recipes of both modes
# over 3 seeds, 5 epochs each, every run holding out 50 training images per class for
# selection (about an hour per run on 2 cores; resumable like the study), then
# `woof-dist weight-space`: α sweeps, seed soups, the greedy soup and (apart) flip TTA, every score cached in
# output/weightspace/scores.json (rerun to resume). `make publish-weightspace` adopts its
# tables as the paper's reference, keeping every other committed result.
WS_GRID ?= study/weightspace.grid
weightspace: build data weights
	scripts/sweep.sh $(WS_GRID) --out output/weightspace --bin $(BIN)
	$(BIN) weight-space --dir output/weightspace --flip-tta

publish-weightspace: | build
	$(BIN) results --output output --report-dir report/results --weightspace-only

# Our bench next to PyTorch + timm + peft (PYTHON must have them; never installed here).
bench-pytorch: build
	scripts/bench-vs-pytorch.sh

# Adopt output/bench/bench.csv (scripts/bench-vs-pytorch.sh) as the paper's speed reference,
# keeping every other committed result.
publish-bench: | build
	$(BIN) results --output output --report-dir report/results --bench-only

RUN_RESULTS := output/results
results: | build
	$(BIN) results --output output --report-dir $(RUN_RESULTS) --readme '' --drop-missing

# The study as one self-contained HTML page for people (tables, SVG charts, the attention grid),
# from this run's results; sections whose inputs are missing say which target makes them.
report-html: | build
	$(BIN) report --results $(RUN_RESULTS) --output output --out output/report.html

# The HTML reports as a person sees them: headless Chromium (installed when missing) must load
# each with no console error, every image decoded, every chart with axes and data marks, and
# the headline numbers of summary.json in the text; full-page screenshots beside them (.png).
# Checks the committed reference results' report, and this run's when it has results.
check-report: | build
	$(BIN) report --results report/results --output output --out output/report-reference.html
	scripts/check-report.sh --results report/results output/report-reference.html
	@if [ -f $(RUN_RESULTS)/summary.json ]; then $(MAKE) --no-print-directory report-html \
	  && scripts/check-report.sh --results $(RUN_RESULTS) output/report.html; \
	else echo "check-report: $(RUN_RESULTS) has no results yet (run make): checked the reference report only"; fi

PUBLISH_FLAGS ?=
publish-results: | build
	$(BIN) results --output output --report-dir report/results $(PUBLISH_FLAGS)

# Adopt only this run's attention analysis (output/attention) as the paper's reference, keeping
# every other committed result; the paper names the epochs and top-1 of the models analysed.
publish-attention: | build
	$(BIN) results --output output --report-dir report/results --attention-only

# The paper: installs TeX Live (Debian packages) if missing, regenerates the LaTeX macros and
# tables from the committed report/results/ (no output/ needed), writes the appendix comparing
# them with this run's output/results/ (if any) and builds report/build/paper.pdf.
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-pictures latexmk
report: tex-deps paper

paper: | build
	$(BIN) results --tex-only --report-dir report/results --readme '' --this-run $(RUN_RESULTS) --this-run-tex report/build/this_run.tex
	@mkdir -p report/build
	cd report && latexmk -pdf -interaction=nonstopmode -halt-on-error -outdir=build paper.tex > build/latexmk.out 2>&1 \
	  || { tail -40 build/latexmk.out; grep -A3 '^!' build/paper.log; exit 1; }
	@grep -E "Output written" report/build/paper.log
	@echo "paper: report/build/paper.pdf"

tex-deps:
	@if command -v pdflatex >/dev/null 2>&1 && command -v latexmk >/dev/null 2>&1; then echo "tex: pdflatex and latexmk present"; \
	else echo "installing: $(TEX_PACKAGES)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES); fi

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

build: deps
	$(SWIFT) build -c release

# Release mode keeps the numeric tests quick; -enable-testing allows @testable imports.
test: deps
	$(SWIFT) build -c release --build-tests -Xswiftc -enable-testing
	$(SWIFT) test -c release -Xswiftc -enable-testing --skip-build

# Long forms: 100,000+ fuzz cases per reader; the drills: the fast reliability tests (signals,
# resume, refusals, rank agreement, watchdog — also in `make test`), then kill -9, a dead
# rank, a full disk, Ctrl-C and one drill per class of failure on real data (about 6 minutes).
fuzz: deps
	$(SWIFT) build -c release --build-tests -Xswiftc -enable-testing
	WOOF_FUZZ_CASES=$${WOOF_FUZZ_CASES:-100000} $(SWIFT) test -c release -Xswiftc -enable-testing --skip-build \
	  --filter "SafeTensorsFuzzTests|JPEGFuzzTests"

drills: build
	$(SWIFT) build -c release --build-tests -Xswiftc -enable-testing
	$(SWIFT) test -c release -Xswiftc -enable-testing --skip-build \
	  --filter "FaultTests|MPITests|ReliabilityTests|RefusalTests|UpFrontTests|LoaderTests|SafeTensorsPathTests"
	scripts/fault-drills.sh

# LoRA's communication saving in seconds on a network: 2 emulated nodes (network namespaces, veth,
# tc HTB caps; scripts/emulated-cluster.sh): allreduce timings and full and LoRA steps at several
# bandwidths, overlap on and off → output/network/{network,allreduce}.csv. Needs root; ~25 minutes.
bench-network: build
	scripts/bench-network.sh

# Adopt output/network as the paper's emulated-network reference (and recalibrate its
# many-node projection), keeping every other committed result.
publish-network: | build
	$(BIN) results --output output --report-dir report/results --network-only

# Data-parallel scaling: 1, 2, 4 ranks × full, LoRA → output/scaling/ (CSV, plots, projection).
SCALING_FLAGS ?=
scaling: output/scaling/scaling.csv
output/scaling/scaling.csv: | build
	scripts/bench-scaling.sh $(SCALING_FLAGS)

# The user's `make` on a fresh copy of this checkout (tracked files as they are now), tiny
# budget, in a temporary directory; then the paper in every state of the results.
smoke:
	scripts/smoke.sh

demo: build
	@echo "== one training step of ViT-Ti/16, batch 32, synthetic input (images/s) =="
	$(BIN) bench --mode full --steps 2 --warmup 1
	$(BIN) bench --mode lora --steps 2 --warmup 1
	$(BIN) bench --mode eval --steps 2 --warmup 1

bench: build
	$(BIN) bench --mode full
	$(BIN) bench --mode lora
	$(BIN) bench --mode eval

clean:
	rm -rf .build
