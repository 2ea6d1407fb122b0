"""`astro-runtime` against a control plane: log in, pick a workspace and deployment, deploy code.

credentials.py  where the login and the selected workspace/deployment live (0600, never printed)
login.py        browser login: authorization code + PKCE S256 on a one-shot loopback listener
session.py      the logged-in caller: one control-plane client, errors turned into one clear message
archive.py      the deterministic tar.gz of dags/, include/ and plugins/ that a DAG deploy uploads
deploy.py       deploy (parse first, upload or record an image), history, rollback, --wait
cli.py          the commands: login, logout, workspace, deployment, deploy, deploys, rollback
errors.py       the exceptions, one tree under RuntimeToolError
"""
