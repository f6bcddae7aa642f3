"""okrsync's reproducible benchmark: ``python -m benchmarks.run`` (``make bench``).

See ``benchmarks/README.md`` for what is measured and the latest figures.
"""
