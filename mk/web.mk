# Front ends (web/): the chat widget, the kiosk and their browser tests.
# Included by the main Makefile (-include mk/*.mk).
#
#   make browser-deps   Debian Chromium + ChromeDriver (if missing) and the Python axe-core
#                       wrapper, so a fresh machine can run the browser tests
#   make test-browser   the browser tests (headless Chromium, real Rasa + action servers)
#   make test-staff     only the staff insights page (its own stack on 5305/5355/8380;
#                       part of test-browser too)
#   make web-vendor     refresh web/static/vendor/ from the npm registry (pinned in
#                       web/package.json); the vendored files are committed, so neither
#                       `make run` nor the tests need npm
#   make web-dev        serve the pages against the fake REST server (no model needed)
#   make lint-js        eslint (pinned in web/package.json + package-lock.json) over web/static;
#                       installs web/node_modules with `npm ci --offline` when the npm cache
#                       has the packages, else `npm ci` (registry at install time only)

CHROMIUM ?= /usr/bin/chromium
AXE_PY := axe-playwright-python==0.1.8
# Decodes the kiosk's QR code in the browser tests; segno renders it (web/serve.py).
QR_PY := zxing-cpp segno
RASA_WEBCHAT := rasa-webchat@1.0.1
RASA_WEBCHAT_INTEGRITY := sha512-Ld1zVJvTAaTrs6A5p8t70agNNrKYRyXlvqXZRgBoDvKKUXbA0jhJKECi5bdPGlaR6jsmqWtVylHS+YqIqo0x8w==
WEBCHAT_DIR := tests/browser/site/vendor

.PHONY: browser-deps test-browser test-staff web-vendor web-dev lint-js web-node-modules

browser-deps: venv ## install Chromium (Debian) and axe-core for the browser tests
	@if [ ! -x $(CHROMIUM) ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "Installing Debian chromium and chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver >/dev/null; \
	fi
	@$(PY) -c 'import axe_playwright_python' 2>/dev/null || \
	  $(PY) -m pip install --quiet --disable-pip-version-check '$(AXE_PY)' -c constraints.txt
	@$(PY) -c 'import zxingcpp, segno' 2>/dev/null || \
	  $(PY) -m pip install --quiet --disable-pip-version-check $(QR_PY) -c constraints.txt

test-browser: browser-deps train ## browser tests of the widget and kiosk (headless Chromium)
	$(PY) -m pytest tests/browser -q -p no:cacheprovider

test-staff: browser-deps train ## the staff insights page end to end: REST + socket.io in, exact counts, privacy, Chromium
	$(PY) -m pytest tests/test_staff_site.py -q -p no:cacheprovider
	$(PY) -m pytest tests/browser/test_staff_page.py -q -p no:cacheprovider

web-vendor: web-node-modules ## re-vendor socket.io-client (web/static/vendor) and rasa-webchat (browser tests)
	cp web/node_modules/socket.io-client/dist/socket.io.min.js web/static/vendor/
	cp web/node_modules/socket.io-client/LICENSE web/static/vendor/socket.io-client.LICENSE
	@# rasa-webchat is only the browser tests' "other client": its UMD bundle and licence,
	@# from the npm tarball checked against the registry's integrity hash.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  (cd $$tmp && npm pack --silent $(RASA_WEBCHAT) >/dev/null) && \
	  got="sha512-$$(openssl dgst -sha512 -binary $$tmp/rasa-webchat-1.0.1.tgz | base64 -w0)" && \
	  [ "$$got" = "$(RASA_WEBCHAT_INTEGRITY)" ] || { echo "rasa-webchat tarball integrity mismatch" >&2; exit 1; }; \
	  tar -xzf $$tmp/rasa-webchat-1.0.1.tgz -C $$tmp package/lib/index.js package/LICENSE && \
	  cp $$tmp/package/lib/index.js $(WEBCHAT_DIR)/rasa-webchat-1.0.1.js && \
	  cp $$tmp/package/LICENSE $(WEBCHAT_DIR)/rasa-webchat.LICENSE

# web/node_modules from package-lock.json: offline from the npm cache when it can, else
# from the registry. Tests and lint never fetch anything after this.
web-node-modules: web/node_modules/.package-lock.json
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && (npm ci --offline --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 || \
	  npm ci --no-audit --no-fund --ignore-scripts)

lint-js: web-node-modules ## eslint over the widget and kiosk scripts (pinned, flat config)
	cd web && node_modules/.bin/eslint --max-warnings 0 static/*.js eslint.config.mjs

web-dev: venv ## serve widget + kiosk on :8480 against tests/browser/fake_rasa.py (:5405)
	@$(PY) tests/browser/fake_rasa.py --port 5405 & fake=$$!; \
	trap "kill $$fake" EXIT INT TERM; \
	$(PY) web/serve.py --port 8480 --rasa-url http://127.0.0.1:5405 \
	  --clinic-profile tests/browser/fixtures/clinic-profile.yml
