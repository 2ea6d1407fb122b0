"""Astronomer sensors for DAG authors."""
