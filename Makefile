# Rearguard: run it (`make demo`), test it (`make test`). Everything it needs is installed here:
# Python tools into .venv (pinned in requirements-dev.txt), Rust crates through cargo, Debian's
# chromium (the HTML report is checked in it) with apt-get.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup chromium build demo test emulator-test lint cfn-lint template-test release-arm64 bench bench-report sam-build bench-sam-build lambda-binaries checkov clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

## Headless Chromium for the HTML report test, from Debian's packages (as root, or through sudo).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null || { echo "error: chromium could not be installed" >&2; exit 1; }

build:
	cargo build --workspace --bins

## Run it: the six functions against the local AWS emulator (an attack on the backups through tamper-guard
## among them), ending in the seed scenario (tests/src/story.rs) and its ransomware recovery
## (tests/src/ransomware.rs).
demo: setup build
	scripts/with-local-aws.sh target/debug/demo

## Test it: format and lint, the local AWS emulator's own tests, unit and SDK tests, end-to-end
## tests against the local AWS, template lint and the templates' own tests.
test: setup chromium lint build emulator-test
	scripts/with-local-aws.sh cargo test --workspace
	$(VENV)/bin/cfn-lint template.yaml templates/*.yaml
	PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/templates

## The local AWS emulator's own tests (each starts its emulator on loopback).
emulator-test: setup
	$(VENV)/bin/pytest -q scripts/local_aws/tests

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

cfn-lint: setup
	$(VENV)/bin/cfn-lint template.yaml templates/*.yaml

## What the templates promise: rule DLQ policies, no default reservation, valid batching, six-fold
## visibility timeouts, retained break-glass keys, no hard-coded partition (pytest, no AWS).
template-test: setup
	PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/templates

## Release builds compile each crate once for every binary (the release profile has no LTO) and link
## job-alerts, which every Backup job event runs, with fat LTO (scripts/release-rustc.sh). They keep
## their own target directory: cargo does not track the wrapper, and a crate built without it has no
## bitcode for job-alerts' LTO.
LAMBDA_BINARIES := job-alerts tag-enrollment cross-account-copy compliance-report tamper-guard restore-drill
FAT_LTO_BINARIES := job-alerts
# The wrapper matches binaries by name: one it never meets would silently be linked without LTO.
$(if $(filter-out $(LAMBDA_BINARIES),$(FAT_LTO_BINARIES)),$(error FAT_LTO_BINARIES names $(filter-out $(LAMBDA_BINARIES),$(FAT_LTO_BINARIES)), not one of LAMBDA_BINARIES ($(LAMBDA_BINARIES))))
RELEASE_TARGET := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release-rustc
RELEASE_RUSTC := CARGO_TARGET_DIR=$(RELEASE_TARGET) RUSTC_WRAPPER=$(CURDIR)/scripts/release-rustc.sh FAT_LTO_BINARIES="$(FAT_LTO_BINARIES)"

## The deployable artefact: target/release-rustc/lambda/job-alerts/bootstrap for arm64 (zig from PyPI's ziglang).
release-arm64: setup
	$(RELEASE_RUSTC) cargo lambda build --release --arm64 --bin job-alerts

## Cold start (spawn to first Runtime API poll), per-event latency and peak RSS of the release binary.
bench: setup
	$(RELEASE_RUSTC) cargo build --release -p job-alerts
	$(RELEASE_RUSTC) cargo build --release -p rearguard-e2e --bin bench
	scripts/with-local-aws.sh $(RELEASE_TARGET)/release/bench $(RELEASE_TARGET)/release/job-alerts

## compliance-report's aggregation at 10,000 resources and 100,000 recovery points: time and peak RSS.
bench-report:
	$(RELEASE_RUSTC) cargo build --release -p compliance-report --bin compliance-bench
	$(RELEASE_TARGET)/release/compliance-bench

## The real deploy path, offline: sam build (aws-sam-cli in its own venv). samconfig.toml makes it
## build in place, so the targets below reuse target/ instead of a copy of the whole tree.
sam-build: setup
	test -x .venv-sam/bin/sam || (python3 -m venv .venv-sam && .venv-sam/bin/pip install --quiet aws-sam-cli)
	.venv-sam/bin/sam build --beta-features

## sam build timed twice on fresh clones: every function built on its own (rust-cargolambda)
## against the makefile build method's one cargo-lambda build; prints both times and the ratio.
bench-sam-build:
	scripts/measure-sam-build.sh

## sam build's makefile build method ("Building Lambda functions with custom runtimes in AWS SAM")
## calls build-<LogicalId> once per function. One cargo-lambda build compiles the dependency tree
## once for every binary; the later calls find it done and only copy their bootstrap.
LAMBDA_DIR = $(RELEASE_TARGET)/lambda

lambda-binaries: setup
	$(RELEASE_RUSTC) cargo lambda build --release --arm64 $(addprefix --bin ,$(LAMBDA_BINARIES))

build-JobAlertsFunction: lambda-binaries
	cp $(LAMBDA_DIR)/job-alerts/bootstrap $(ARTIFACTS_DIR)/

build-TagEnrollmentFunction: lambda-binaries
	cp $(LAMBDA_DIR)/tag-enrollment/bootstrap $(ARTIFACTS_DIR)/

build-CrossAccountCopyFunction: lambda-binaries
	cp $(LAMBDA_DIR)/cross-account-copy/bootstrap $(ARTIFACTS_DIR)/

build-ComplianceReportFunction: lambda-binaries
	cp $(LAMBDA_DIR)/compliance-report/bootstrap $(ARTIFACTS_DIR)/

build-TamperGuardFunction: lambda-binaries
	cp $(LAMBDA_DIR)/tamper-guard/bootstrap $(ARTIFACTS_DIR)/

build-RestoreDrillFunction: lambda-binaries
	cp $(LAMBDA_DIR)/restore-drill/bootstrap $(ARTIFACTS_DIR)/

## Security scan of the template (checkov pins an older boto3, so it gets its own venv).
checkov:
	test -x .venv-checkov/bin/checkov || (python3 -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet checkov)
	.venv-checkov/bin/checkov -f template.yaml -f templates/member-account.yaml -f templates/destination-account.yaml --framework cloudformation --compact --quiet --skip-download

clean:
	cargo clean
	rm -rf $(VENV) .venv-sam .venv-checkov .run .aws-sam
