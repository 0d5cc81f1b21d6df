# Clinic insights (assistant/insights, docs/insights.md). Included by the Makefile (-include mk/*.mk).

INSIGHTS_DAYS ?= 30

.PHONY: insights bench-insights test-insights

# The store is found as retention finds it: DB_URL (or TRACKER_DB_URL), else endpoints.yml
# (the embedded profile's run/tracker.db). The URL travels in the environment.
insights: venv ## print the clinic insights for the last INSIGHTS_DAYS (30) days; CSV=out.csv HTML=out.html to write them
	@$(if $(DB_URL),TRACKER_DB_URL='$(DB_URL)') $(PY) -m assistant.insights --days $(INSIGHTS_DAYS) \
	  $(if $(CSV),--csv $(CSV)) $(if $(HTML),--html $(HTML))

bench-insights: deploy-deps venv ## 100,000 generated conversations in SQLite and PostgreSQL (port 5499): time the summary -> bench/insights-results.json, bench/plots/insights.png
	$(PY) bench/insights.py

test-insights: venv ## the insights unit tests (SQLite; PostgreSQL when startable)
	$(PY) -m pytest tests/test_insights.py -q -p no:cacheprovider -rs
