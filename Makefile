# SmoothDesk: `make run` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DESTDIR ?=
PREFIX ?= /usr

# Debian packages the tests use: a private dbus-daemon (and dbus-send), the real polkitd (and
# pkaction), systemd-analyze to verify the unit offline, gcc for the latency probe and evdev,
# util-linux and procps for the process tools, rt-tests for cyclictest in bench_realload.
APT_PACKAGES := dbus dbus-daemon dbus-bin polkitd systemd gcc python3-dev util-linux procps rt-tests
# The desktop tests: Xvfb with openbox (an EWMH window manager) and trayer (a tray host), xdotool to
# switch focus, x11-apps for real client windows, a real PulseAudio with its tools, a real PipeWire
# (the daemon, and pw-cat/pw-link for the xrun test; the agent itself needs only libpipewire), a
# headless sway with foot windows for Wayland focus through sway's IPC, headless GNOME Shell 43 and
# KWin 5.27 with XWayland for the extension and KWin script (kpackagetool5 installs it; gjs loads the
# extension's GNOME 45+ build), and what Qt's
# xcb platform plugin loads (PySide6's wheel does not carry them), plus a font to draw text with.
APT_DESKTOP := xvfb openbox trayer xdotool x11-utils x11-apps pulseaudio pulseaudio-utils \
  pipewire pipewire-bin sway foot gnome-shell kwin-wayland xwayland kpackagetool5 gjs \
  libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libx11-xcb1 libxkbcommon-x11-0 \
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
  libxcb-shape0 libxcb-xkb1 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 fonts-dejavu-core \
  desktop-file-utils
# `make deb` and its tests: Debian's packaging tools with dh-virtualenv, lintian, appstreamcli to
# validate the metainfo, man-db to render the man pages, zsh and fish to load the completions,
# and Debian's setuptools and wheel for the offline wheel build; plus the .deb's Depends not
# listed above, which dpkg --install in the test root needs (the Wayland client libraries and others).
APT_DEB := debhelper dh-virtualenv dpkg-dev fakeroot python3-venv lintian appstream man-db zsh fish \
  python3-setuptools python3-wheel python3.11 libwayland-client0 libwayland-cursor0 libwayland-egl1 \
  libxkbcommon0 libfreetype6 libx11-6 libxcb1 libxcb-render0 libstdc++6 libgcc-s1

.PHONY: run test lint bench screenshots system-deps clean install deb

# The venv with a current pip; `make test` and `make run` each add what they need to it.
$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "error: Python >= 3.11 is needed ($(PYTHON) is older)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed: install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[dev,gui,ml]'
	@touch $(STAMP)

# `make run` installs what running needs: the GUI, not the trainer (catboost, ~650 MB) or dev tools.
RUN_STAMP := $(VENV)/.installed-run
$(RUN_STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[gui]'
	@touch $@

system-deps:
	@./scripts/apt-deps.sh $(APT_PACKAGES) $(APT_DESKTOP) $(APT_DEB)

run: $(RUN_STAMP)
	@./scripts/apt-deps.sh dbus-daemon
	@./scripts/run.sh

# One pytest run for everything, GUI tests included (tests/gui/conftest.py keeps Qt objects from
# outliving their test). Exit status 5 (no tests collected) fails like any other.
# SMOOTHDESK_REQUIRE_TOOLS: a test needing a tool this target should have installed fails, not skips.
test: system-deps $(STAMP)
	SMOOTHDESK_REQUIRE_TOOLS=1 $(PY) -m pytest -p no:cacheprovider tests

lint: $(STAMP)
	$(VENV)/bin/ruff check smoothdesk tests bench
	$(VENV)/bin/ruff format --check smoothdesk tests bench
	$(VENV)/bin/mypy smoothdesk
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# PNGs of the tray, the dashboard, the applications and the rules windows for the README, taken
# under Xvfb against a real helper on a private bus.
screenshots: system-deps $(STAMP)
	$(PY) scripts/screenshots.py docs/screenshots

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# System files only (systemd, D-Bus, polkit, tmpfiles, vendor config and rules); pip installs the package.
install:
	@./scripts/install.sh "$(DESTDIR)" "$(PREFIX)"

# dist/smoothdesk_<version>_<arch>.deb from debian/ (dpkg-buildpackage, dh-virtualenv); the wheels
# come from PyPI. The tests build it too when dist/ holds none of the current sources.
deb:
	@./scripts/apt-deps.sh $(APT_DEB)
	@./scripts/build-deb.sh
