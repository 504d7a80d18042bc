# connhub: `make run` starts the window, `make test` runs the whole suite, `make package` builds the .deb
# (packaging/). They work on a fresh Debian machine: they install the missing system packages (as root;
# otherwise they name them), create .venv and install connhub into it. A second run does no apt or pip work.

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV   := .venv
PYTHON := $(VENV)/bin/python
# Touched after `pip install`; pip runs again only when pyproject.toml is newer (or .venv was removed).
STAMP  := $(VENV)/.connhub-installed

# What Qt needs to start (offscreen or on X11), and what `python3 -m venv` needs.
RUN_PACKAGES := libgl1 libxkbcommon0 libegl1 libglib2.0-0 libfreetype6 libfontconfig1 libdbus-1-3 \
                libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
                libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core python3-venv
# A throwaway Secret Service for the keyring tests, and a real X server for screenshot tests.
TEST_PACKAGES := gnome-keyring dbus xvfb xauth
# `make package`: strip (binutils) and the checkers of the .desktop file and the AppStream metainfo.
PACKAGE_PACKAGES := binutils desktop-file-utils appstream
# packaging/smoke-test, besides TEST_PACKAGES: secret-tool reads the Secret Service, a throwaway redis-server.
SMOKE_PACKAGES := libsecret-tools redis-server
PACKAGE_STAMP  := $(VENV)/.connhub-package-installed

# Serial by default: on the 2-core machines, -n 2 measured no faster (whole suite 89 s serial vs 90 s with
# -n 2; 106 s vs 99 s) and made the timing-sensitive tests flakier. `make test PYTEST_WORKERS=2` for xdist.
PYTEST_WORKERS ?= 0
PYTEST_ARGS    ?=
PYTEST_XDIST   := $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS))

.PHONY: run test clean run-packages test-packages package smoke-test package-packages smoke-packages bench
# Prerequisites in order: the system packages (python3-venv among them) before the virtualenv.
.NOTPARALLEL:

run: run-packages $(STAMP)
	$(VENV)/bin/connhub

test: test-packages $(STAMP)
	QT_QPA_PLATFORM=offscreen scripts/with-test-keyring $(PYTHON) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# Every benchmark in benchmarks/, each beside a baseline run in the same invocation; prints the Markdown table
# README's "Performance" section quotes. Needs the local Redis and PostgreSQL. Run it on a quiet machine.
# Qt's offscreen platform warns once per window that it cannot pass size hints on; kept out of the table.
OFFSCREEN_NOISE := This plugin does not support propagateSizeHints()
bench: run-packages $(STAMP)
	@echo "load average before: $$(cut -d' ' -f1-3 /proc/loadavg), $$(nproc) cores"
	@QT_QPA_PLATFORM=offscreen $(PYTHON) benchmarks/startup.py
	@QT_QPA_PLATFORM=offscreen $(PYTHON) benchmarks/tests_speed.py --no-header 2> >(grep -v "$(OFFSCREEN_NOISE)" >&2)
	@QT_QPA_PLATFORM=offscreen $(PYTHON) benchmarks/filter.py --no-header 2> >(grep -v "$(OFFSCREEN_NOISE)" >&2)
	@$(PYTHON) benchmarks/cli.py --no-header
	@$(PYTHON) benchmarks/actions.py --no-header
	@$(PYTHON) benchmarks/workflows.py --no-header
	@$(PYTHON) benchmarks/webhooks.py --no-header
	@$(PYTHON) benchmarks/plugins.py --no-header
	@$(PYTHON) benchmarks/team.py --no-header
	@echo "load average after: $$(cut -d' ' -f1-3 /proc/loadavg)"

# packaging/out/connhub_<version>_<arch>.deb: a PyInstaller bundle in /opt/connhub, needing no Python.
package: package-packages $(PACKAGE_STAMP)
	PYTHON=$(PYTHON) packaging/build-deb

# Installs that .deb, uses it with no venv on PATH against a throwaway keyring, purges it (needs root).
smoke-test: smoke-packages
	packaging/smoke-test

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis src/*.egg-info packaging/out
	find src tests benchmarks scripts -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- set-up ---------------------------------------------------------------------------------------

# ensure_packages: install the Debian packages in $(1) that are not installed yet (one `apt-get update`,
# one `apt-get install`), or, when not root, name them and stop. One dpkg-query call: fast when nothing
# is missing.
define ensure_packages
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "note: not a Debian-like system; make sure Qt's libraries and python3-venv are installed"; exit 0; \
	fi; \
	installed=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(1) 2>/dev/null | awk '/ install ok installed$$/ {print $$1}'); \
	missing=$$(for p in $(1); do grep -qxF "$$p" <<<"$$installed" || echo "$$p"; done | xargs); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "Missing system packages: $$missing"; \
	  echo "Install them, then run make again:"; \
	  echo "  sudo apt-get install -y --no-install-recommends $$missing"; \
	  exit 1; \
	fi; \
	echo "Installing system packages: $$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing
endef

run-packages:
	$(call ensure_packages,$(RUN_PACKAGES))

# The union, so that a fresh machine sees a single `apt-get update`.
test-packages:
	$(call ensure_packages,$(RUN_PACKAGES) $(TEST_PACKAGES))

package-packages:
	$(call ensure_packages,$(RUN_PACKAGES) $(PACKAGE_PACKAGES))

smoke-packages:
	$(call ensure_packages,$(TEST_PACKAGES) $(SMOKE_PACKAGES))

$(PYTHON):
	python3 -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(PACKAGE_STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[package]'
	touch $@
