# Front ends (web/): the chat widget, the kiosk and their browser tests.
# Included by the main Makefile (-include mk/*.mk).
#
#   make browser-deps   Debian Chromium + ChromeDriver (if missing) and the Python axe-core
#                       wrapper, so a fresh machine can run the browser tests
#   make test-browser   the browser tests (headless Chromium, real Rasa + action servers)
#   make web-vendor     refresh web/static/vendor/ from the npm registry (pinned in
#                       web/package.json); the vendored files are committed, so neither
#                       `make run` nor the tests need npm
#   make web-dev        serve the pages against the fake REST server (no model needed)

CHROMIUM ?= /usr/bin/chromium
AXE_PY := axe-playwright-python==0.1.8

.PHONY: browser-deps test-browser web-vendor web-dev

browser-deps: venv ## install Chromium (Debian) and axe-core for the browser tests
	@if [ ! -x $(CHROMIUM) ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "Installing Debian chromium and chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver >/dev/null; \
	fi
	@$(PY) -c 'import axe_playwright_python' 2>/dev/null || \
	  $(PY) -m pip install --quiet --disable-pip-version-check '$(AXE_PY)' -c constraints.txt

test-browser: browser-deps train ## browser tests of the widget and kiosk (headless Chromium)
	$(PY) -m pytest tests/browser -q -p no:cacheprovider

web-vendor: ## re-vendor socket.io-client into web/static/vendor (needs npm)
	cd web && npm ci --no-audit --no-fund
	cp web/node_modules/socket.io-client/dist/socket.io.min.js web/static/vendor/
	cp web/node_modules/socket.io-client/LICENSE web/static/vendor/socket.io-client.LICENSE

web-dev: venv ## serve widget + kiosk on :8480 against tests/browser/fake_rasa.py (:5405)
	@$(PY) tests/browser/fake_rasa.py --port 5405 & fake=$$!; \
	trap "kill $$fake" EXIT INT TERM; \
	$(PY) web/serve.py --port 8480 --rasa-url http://127.0.0.1:5405 \
	  --clinic-profile tests/browser/fixtures/clinic-profile.yml
