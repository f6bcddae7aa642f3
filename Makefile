# Every target sets itself up from nothing: a fresh clone needs only python3.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: test lint typecheck unit tools browser demo bench bench-inprocess bench-quick spec clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check okrsync connectors mappings tests benchmarks
	$(BIN)/ruff format --check okrsync connectors mappings tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) tools browser
	$(BIN)/pytest

# promtool checks the /metrics exposition and the alert rules; the tests also run a real
# Prometheus server. Both come with Debian's prometheus package (CI: root on Debian 12).
# systemd-analyze verifies the systemd units in deploy/ (Debian's systemd package).
tools:
	@command -v promtool >/dev/null && test -x /usr/bin/prometheus || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq --no-install-recommends prometheus)
	@command -v systemd-analyze >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq --no-install-recommends systemd)

# The status page is checked in a real browser: Debian's chromium, driven by Playwright.
browser:
	@test -x /usr/bin/chromium || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq --no-install-recommends chromium)

demo: $(STAMP)
	$(BIN)/okrsync demo

# Performance figures (see benchmarks/README.md). bench: workload W1 with the sandbox in
# its own process; writes benchmarks/RESULTS.md and benchmarks/results/w1.{json,png}.
# bench-inprocess: the earlier single-process benchmark (results/latest.json).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.w1.run

bench-inprocess: $(STAMP)
	$(BIN)/python -m benchmarks.run --out benchmarks/results/latest.json

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

# Regenerate the vendored subset of Atlassian's Jira OpenAPI spec from the full spec, and the
# request-body schemas the Jira sandbox checks bodies against (okrsync/sandbox/jira/request_schemas.json).
spec: $(STAMP)
	$(BIN)/python -m tests.sandbox_jira.spec.trim

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
