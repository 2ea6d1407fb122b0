"""Build-side tooling of Astronomer Runtime: the catalog, locks, the local runtime.

Development and CI only; never installed into a Runtime image.
"""
