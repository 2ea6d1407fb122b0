"""`astro-runtime project <verb>`: the customer's project loop, with the habits of `astro dev`.

Every verb takes `--project DIR` (default: the current directory), an Astro-layout project
(`Dockerfile`, `requirements.txt`, `packages.txt`, `dags/`, `include/`, `plugins/`, `tests/`,
`airflow_settings.yaml`, `.env`). One module per verb; `cli.py` wires them.

    init     create a project in an empty or new folder (init.py)
    parse    import every DAG file as the dag-processor does and report per file (parse.py)
    pytest   run the project's tests/ with the project importable (testing.py)
    upgrade-test  build the project on another release; packages, DAG imports and DAG changes (upgrade.py)
    parity   compare the project's environment with the built image's SBOM (parity.py)

`astro-runtime dev --project DIR` (and `make dev`) runs a project's components in the foreground.
"""

from __future__ import annotations
