"""Astronomer triggers for DAG authors."""
