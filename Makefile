# Quick start:  make run   (set-up, training if needed, start, print addresses)
#               make test  (everything CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

SPACY_MODEL := models/spacy/meta.json
MODEL := models/gluteus-assistant.tar.gz
# the trainable components' code counts too: a change to how the topic head learns retrains
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*/*.yml) content/lexicon.yml \
  $(wildcard components/*.py) assistant/topic_model.py

.PHONY: help venv venv-runtime spacy-model train run stop test test-unit test-data test-stories test-security \
        evaluate evaluate-dev validate-content clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

venv: $(VENV)/.requirements.sha ## create .venv (Python 3.10) with the pinned dependencies (runtime + test tools)
$(VENV)/.requirements.sha: requirements.txt requirements-dev.txt constraints.txt scripts/bootstrap.sh
	@bash scripts/bootstrap.sh

# What `make run` needs (requirements.txt only): a first run does not wait for the test tools.
venv-runtime: $(VENV)/.runtime.sha
$(VENV)/.runtime.sha: requirements.txt constraints.txt scripts/bootstrap.sh
	@bash scripts/bootstrap.sh --runtime

spacy-model: $(SPACY_MODEL) ## build the project's spaCy pipeline (blank English + rules)
$(SPACY_MODEL): content/lexicon.yml scripts/build_spacy_model.py | venv-runtime
	$(PY) scripts/build_spacy_model.py --out models/spacy

# Rasa re-trains only when its inputs changed (the stamp holds their hash).
train: venv-runtime spacy-model ## train the Rasa model if data or config changed
	@want=$$(cat $(TRAINING_INPUTS) | sha256sum | cut -d' ' -f1); \
	if [ -f $(MODEL) ] && [ "$$(cat models/.inputs.sha 2>/dev/null)" = "$$want" ]; then \
	  echo "Model is up to date ($(MODEL))"; \
	else \
	  start=$$(date +%s); \
	  $(RASA) train --config config.yml --domain domain.yml --data data --out models \
	    --fixed-model-name gluteus-assistant --quiet && \
	  echo "$$want" > models/.inputs.sha && \
	  echo "Trained $(MODEL) in $$(( $$(date +%s) - start )) s"; \
	fi

run: train ## set up, train if needed, start everything (honcho; BACKGROUND=1: supervisord) and print the addresses
	@bash scripts/run.sh $(if $(BACKGROUND),--background)

stop: ## stop what `make run BACKGROUND=1` started (a foreground run stops with Ctrl-C)
	@bash scripts/stop.sh

validate-content: venv ## check every content file against its schema (file:line), the domain and the clinic profiles
	$(PY) -m assistant.validate

test-unit: venv spacy-model ## unit tests (content, validator, actions, red flags, channels)
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/browser --ignore=tests/production

test-data: venv ## rasa data validate --fail-on-warning
	$(RASA) data validate --domain domain.yml --data data --config config.yml --fail-on-warnings

test-stories: train ## conversation tests (tests/test_stories.yml)
	$(RASA) test core --e2e --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out results/stories

# The security tests that need the served model (tests/security/test_stack.py) skip in
# test-unit before the first training; test-security runs them against the trained model.
test-security: train ## security tests against the served model (slash text, 415/429, caps, forget, log privacy)
	$(PY) -m pytest tests/security -q -p no:cacheprovider -rs

test: gates test-unit test-data test-stories test-security test-browser test-production ## everything CI runs (fast gates first)
	@echo "make test: all suites passed"

evaluate: train ## held-out sets via REST (ports 5805/5855, or RASA_URL=...), 5-fold CV (~25 min; QUICK=1: 3 folds), TF-IDF baseline -> reports/
	$(PY) -m evaluation.evaluate

evaluate-dev: train ## the development sets (evaluation/dev/, for tuning) via REST on ports 5905/5955, every miss printed; FILES=... for some
	$(PY) -m evaluation.dev_sets $(FILES)

clean: ## remove trained models and test output (not the virtual env)
	rm -rf models results build .rasa

-include mk/*.mk
