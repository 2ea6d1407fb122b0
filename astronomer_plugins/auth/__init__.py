"""Control-plane authentication: an Airflow 3 auth manager (`[core] auth_manager =
astronomer_plugins.auth.manager.AstronomerAuthManager`). Loaded by the api-server only."""
