"""The project's tests, a regular package so `from tests.conftest import ...` finds ours.

medspacy's dependency medspacy_quickumls installs a top-level ``tests`` package into
site-packages; without this file ours would be a namespace package and lose to it.
"""
