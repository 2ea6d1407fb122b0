"""Benchmarks, run as modules from the repository root (`python -m benchmarks.<name>`, as `make bench`
does), so they import the tests' support code (`tests.support`) without touching sys.path."""
