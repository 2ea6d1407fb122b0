"""Start-up cost of our plugin: an Airflow process that loads plugins, with vs without our package.

Both variants use one venv built from the same lock; only the visibility of `astronomer-plugins`
differs (its wheel installed into a separate folder that is put on PYTHONPATH for the "with" runs),
so the ratio isolates our package. Runs alternate, and the medians are compared.
Target (DESIGN.md): ratio <= 1.02.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench" / "plugin_startup"
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TARGET = 1.02

# What every task runner and long-lived component does at start: load plugins and their listeners.
PROBE = (
    "from airflow import plugins_manager\n"
    "plugins_manager.ensure_plugins_loaded()\n"
    "from airflow.listeners.listener import get_listener_manager\n"
    "get_listener_manager()\n"
    "import sys\n"
    "names = [p.name for p in plugins_manager._get_plugins()[0]]\n"
    "sys.stdout.write(','.join(names))\n"
)


def _run(command: list[str], **kwargs) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout


def prepare() -> tuple[Path, Path]:
    """A venv from the dev lock without our package, and a folder holding our package alone."""
    index = json.loads((REPO / "runtime/locks/index.json").read_text())["newest_stable"]
    lock = REPO / "runtime/locks" / index[f"{sys.version_info.major}.{sys.version_info.minor}"]["lock"]
    venv, plugin_site = BENCH_DIR / "venv", BENCH_DIR / "plugin-site"
    uv = str(Path(sys.executable).with_name("uv"))
    if not (venv / "bin/python").exists():
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    install = [uv, "pip", "install", "--quiet"]
    _run([*install, "--python", str(venv / "bin/python"), "--require-hashes", "-r", str(lock)])
    _run([*install, "--reinstall", "--no-deps", "--target", str(plugin_site), str(REPO)])
    return venv / "bin/python", plugin_site


def timed(python: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    # Run outside the repo: its egg-info would count.
    output = _run([str(python), "-c", PROBE], env=env, cwd=BENCH_DIR)
    return time.perf_counter() - started, output


def main() -> int:
    python, plugin_site = prepare()
    home = BENCH_DIR / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    base = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    variants = {"without": base, "with": {**base, "PYTHONPATH": str(plugin_site)}}
    # Warm-up: compile bytecode, fill the page cache; also proves each variant sees what it should.
    for name, env in variants.items():
        _, plugins = timed(python, env)
        if ("astronomer" in plugins.split(",")) != (name == "with"):
            raise SystemExit(f"benchmark setup is wrong: variant {name!r} loaded plugins {plugins!r}")
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(RUNS):
        for name, env in variants.items():
            samples[name].append(timed(python, env)[0])
    without, with_ = statistics.median(samples["without"]), statistics.median(samples["with"])
    ratio = with_ / without
    fastest = min(samples["with"]) / min(samples["without"])
    print(
        f"plugin_startup: median without {without * 1000:.0f} ms, with {with_ * 1000:.0f} ms, "
        f"ratio {ratio:.3f} (target <= {TARGET}); ratio of fastest runs {fastest:.3f}; "
        f"{RUNS} alternating runs each"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
