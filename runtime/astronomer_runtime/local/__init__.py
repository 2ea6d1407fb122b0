"""The local runtime: Airflow's components as separate processes under one supervisor."""
