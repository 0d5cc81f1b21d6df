# Production profile: the local cluster (PostgreSQL + Redis + action server + 2 x Rasa +
# nginx, run by supervisord: deploy/cluster.py), its tests, the benchmark, retention and the dependency audit.
# See docs/production.md. Included by the Makefile (-include mk/*.mk).

PROD_PY ?= $(VENV)/bin/python
DAYS ?= 30
PIP_AUDIT_VERSION ?= 2.10.1
AUDIT_VENV := build/audit-venv

.PHONY: deploy-deps cluster-up cluster-down cluster-status test-production bench bench-train bench-first-run retention audit

deploy-deps: ## install PostgreSQL, Redis and nginx from Debian's packages if missing (root)
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

cluster-up: deploy-deps train ## start the production profile under supervisord (loopback; nginx on :8300 and :8343)
	$(PROD_PY) deploy/cluster.py up

cluster-down: ## stop the local production cluster and its supervisord (its data stays in build/prod)
	$(PROD_PY) deploy/cluster.py down

cluster-status: ## show which parts of the local production cluster run and are healthy
	@$(PROD_PY) deploy/cluster.py status

test-production: deploy-deps train ## cluster, load, fault, bad-input, fuzz, retention, log and run-profile tests (~10 min)
	$(PROD_PY) -m pytest tests/production -p no:cacheprovider -q -rs

# The benchmark serves the model `make train` made, beside a bare `rasa init` bot (made once in
# build/bare-bot; BENCH_RETRAIN_BARE=1 remakes it) on ports 5905/5955 and 5915, PostgreSQL on
# 55432. The assistant's training time comes from `make bench-train` (a timed training from scratch).
bench: deploy-deps train ## side by side with a bare bot: profile, load, growth, long messages, memory -> bench/report.md (~15 min)
	$(PROD_PY) bench/run_bench.py

bench-train: venv spacy-model ## time a from-scratch training of the assistant for the bench report (slow)
	$(PROD_PY) bench/run_bench.py --train-only

# A fresh clone of HEAD in build/bench-perf (no venv, no model) runs `make run` on the bench's
# ports until it answers; phases (venv, spaCy, training, start-up) -> build/bench-perf/first-run.json,
# which the next `make bench` (or `bench/run_bench.py --report-only`) puts in the report.
bench-first-run: venv ## time a first `make run` on a fresh clone (venv, spaCy, training, start-up; ~10 min)
	$(PROD_PY) bench/first_run.py

# The URL travels in the environment (TRACKER_DB_URL), not on the script's command line.
retention: venv ## delete conversations older than DAYS (30) from the tracker store (DB_URL=... for PostgreSQL)
	@$(if $(DB_URL),TRACKER_DB_URL='$(DB_URL)') $(PROD_PY) scripts/retention.py --days $(DAYS)

audit: venv ## pip-audit of the installed dependencies (documented exceptions: deploy/audit-ignore.txt)
	@[ -x $(AUDIT_VENV)/bin/pip-audit ] && $(AUDIT_VENV)/bin/pip-audit --version | grep -q ' $(PIP_AUDIT_VERSION)$$' || { \
	  python3 -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install -q --disable-pip-version-check pip-audit==$(PIP_AUDIT_VERSION); }
	$(PROD_PY) deploy/audit.py
