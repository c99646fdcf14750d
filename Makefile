# Everything a fresh machine with Python 3.11 and make needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LOCALES := bot/locales

# Debian packages the tests use, and one file that shows each is there.
# PostgreSQL 15: the storage and story suites also run on it; Chromium and
# its driver (same version): the family page's browser test.
DEBIAN_PACKAGES := postgresql chromium chromium-driver
DEBIAN_FILES    := /usr/lib/postgresql/15/bin/initdb /usr/bin/chromium /usr/bin/chromedriver

.PHONY: test lint demo bench clean locales catalogs debian-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) catalogs
	touch $(STAMP)

# The .mo files are built here, never committed (bot/i18n.py compiles a
# missing or stale one in memory).
catalogs:
	$(BIN)/pybabel -q compile -d $(LOCALES) -D petites_voix

# After changing texts: the template from the code, then every catalog
# updated from it (new texts appear untranslated: the catalog test says which).
locales: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k ngettext:1,2 -c Translators: --no-location \
		--sort-output --project "Petites Voix" -o $(LOCALES)/petites_voix.pot bot
	$(BIN)/pybabel -q update -D petites_voix -i $(LOCALES)/petites_voix.pot -d $(LOCALES) \
		--no-fuzzy-matching --ignore-obsolete

lint: $(STAMP)
	$(BIN)/ruff check bot adapters storage tests bench
	$(BIN)/ruff format --check bot adapters storage tests bench
	$(BIN)/mypy

# Installed with apt-get when run as root; otherwise one line names them.
debian-packages:
	@for f in $(DEBIAN_FILES); do [ -e "$$f" ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEBIAN_PACKAGES); \
	  else \
	    echo "paquets Debian manquants (à installer en root) : $(DEBIAN_PACKAGES)"; exit 1; \
	  fi; \
	fi

test: lint debian-packages
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python -m bot.demo

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
