"""Astronomer operators for DAG authors."""
