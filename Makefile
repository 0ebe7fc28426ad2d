# Each target creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

# The Debian packages the whole test suite needs (tests that need a missing one skip,
# naming it); `make system-deps` installs them as root, and .ci/run calls it.
SYSTEM_PACKAGES := python3-venv nftables libnftables1 dnsmasq-base iproute2 conntrack curl \
	chromium fonts-dejavu-core espeak-ng lame busybox libnss3-tools hostapd systemd \
	mmdebstrap systemd-container libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	poppler-utils zbar-tools faketime

.PHONY: demo test lint i18n i18n-extract bench clean system-deps

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations -l $*

demo: $(STAMP) $(COMPILED)
	$(BIN)/portal demo --host 127.0.0.1 --port 8080

test: $(STAMP) $(COMPILED)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check portal tests bench
	$(BIN)/ruff format --check portal tests bench
	$(BIN)/mypy

# Re-extract visible strings into the catalogs, then compile them; hyphenate their words
# and the lessons' into each language's table (portal/typography.py).
i18n-extract: $(STAMP)
	$(BIN)/pybabel extract --no-wrap -F babel.cfg -k _l -o portal/translations/messages.pot portal
	$(BIN)/pybabel update --no-wrap --ignore-obsolete -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
	$(BIN)/python -m portal.typography

i18n: $(STAMP)
	$(BIN)/pybabel compile -d portal/translations

# `make bench` runs every benchmark; `make bench fuzz` (or probes, packs, ...) only those named.
BENCH_NAMES := $(filter-out bench,$(MAKECMDGOALS))
bench: $(STAMP) $(COMPILED)
	$(BIN)/python -m bench $(BENCH_NAMES)
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCH_NAMES):
	@:
endif

system-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(SYSTEM_PACKAGES) >/dev/null

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
