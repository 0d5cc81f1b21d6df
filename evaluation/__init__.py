"""The evaluation tool behind `make evaluate` (beside bench/, not a test suite).

evaluate.py (command line) runs the steps: nlu.py (the model in-process, cross-validation),
baselines.py (TF-IDF 1-NN), redflags.py (the triage alone), served_sets.py + served.py (the
held-out sets through the REST channel and the reply contract); metrics.py and heldout.py hold
the pure figures, report.py and report_served.py write reports/evaluation.md.
"""
