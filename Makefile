# woof-dist — build, test and (as later issues land) the whole LoRA-vs-full study.
#   make          build and run a short demo (speed of one training step, full and LoRA)
#   make test     the test suite (what CI runs)
#   make deps     install missing Debian packages (root, or sudo)
#   make build    release build of .build/release/woof-dist
#   make bench    the speed benchmarks (images/s), full, lora and eval

SHELL := /bin/bash
SWIFT ?= swift
SHARED ?= ../shared
# Tests read the golden tensors and weights from here.
export WOOF_SHARED ?= $(abspath $(SHARED))
BIN := .build/release/woof-dist
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libjpeg-dev libpng-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all demo deps build test bench clean

all: demo

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
