"""Ratio benchmarks (``make bench``): never timed assertions in the unit tests."""
