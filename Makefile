# The two commands of the README, and the benchmark. Each sets up what it needs.
.PHONY: demo test setup bench

# Python venvs: the pinned AWS emulators (.venv), the pinned SAM CLI (.venv-sam, for
# `sam validate --lint` and the SAM expansion in the tests) and the pinned checkov
# (.venv-checkov), and every binary the tests and demo run.
setup:
	infra/local/setup-venv.sh
	infra/local/setup-sam.sh
	infra/local/setup-checkov.sh
	cargo build --workspace --bins

# The demo on the local stack (starts and stops the stack itself).
demo:
	infra/local/demo.sh

# What CI runs (.ci/run): formatting, lints, unit tests, and the end-to-end tests that
# start their own emulators and fake CI servers on loopback.
test: setup
	cargo fmt --all -- --check
	python3 tools/house-check/check.py
	python3 -m unittest discover -s tools/house-check -q
	infra/local/checkov.sh
	.venv/bin/python infra/local/test_moto_ext.py
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo test --workspace

# Release-build benchmarks (not part of `make test`): infra/local/bench.sh.
bench:
	infra/local/bench.sh
