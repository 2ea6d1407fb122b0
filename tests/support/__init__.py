"""What tests of every layer and the benchmarks share (no fixtures, no tests):

- `servers`: real processes (control plane, Airflow api-server, local runtime) on a free 127.0.0.1
  port, always stopped, and `poll` (wait with a deadline instead of sleeping);
- `control_plane`: an organization tree built through the control plane's API (`make_tree`) and the
  client-side flows against it (users, API tokens, logins, deployment settings).

Benchmarks import them as `tests.support.*` when run as modules from the repository root
(`python -m benchmarks.<name>`, as `make bench` does)."""
