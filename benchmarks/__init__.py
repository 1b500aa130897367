"""Measurements of the product that are not tests, run by hand (`python -m benchmarks.NAME`); figures: docs/results.md.
Development tools: they may use the `dev` extra and the test harness, which the product never imports."""
