"""Astronomer hooks for DAG authors."""
