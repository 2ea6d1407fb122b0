"""runtime/statsd_exporter/mapping.yml against the metric names the installed Airflow documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.astronomer_plugins.metrics.statsd_mapping import PROMETHEUS_NAME, Mapper

MAPPING = Path(__file__).resolve().parents[3] / "runtime" / "statsd_exporter" / "mapping.yml"
CATCH_ALL = {"airflow_unmapped_counter", "airflow_unmapped_gauge", "airflow_unmapped_timer"}
TYPES = {"counter": "counter", "gauge": "gauge", "timer": "observer"}
# One literal sample per variable Airflow's documented names use.
SAMPLES = {
    "job_name": "SchedulerJob", "job_id": "42", "dag_id": "sales_daily", "task_id": "load_orders",
    "return_code": "1", "operator_name": "BashOperator", "state": "success", "task_type": "PythonOperator",
    "file_name": "sales_py", "dag_file": "sales_py", "executor_class_name": "LocalExecutor",
    "pool_name": "default_pool", "hostname": "host-1", "queue": "default", "event_type": "start",
    "worker_name": "edge-1", "status": "succeeded", "bundle_name": "dags-folder", "transport_type": "http",
}


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(MAPPING)


def documented_metrics() -> list[dict]:
    from airflow._shared.observability.metrics.metrics_registry import YAML_REGISTRY_PATH

    return yaml.safe_load(Path(YAML_REGISTRY_PATH).read_text())["metrics"]


def _instances() -> list[tuple[str, str, dict[str, str], bool]]:
    """(statsd name, prometheus type, variables, is_legacy) for every documented name."""
    found = []
    for metric in documented_metrics():
        variables = {name: SAMPLES[name] for name in metric.get("name_variables") or []}
        kind = TYPES[metric["type"]]
        found.append(("airflow." + metric["name"].format(**variables), kind, variables, False))
        if metric.get("legacy_name", "-") != "-":
            found.append(("airflow." + metric["legacy_name"].format(**variables), kind, variables, True))
    return found


def test_the_installed_airflow_documents_metrics() -> None:
    names = {metric["name"] for metric in documented_metrics()}
    assert {"scheduler_heartbeat", "ti.finish", "pool.open_slots", "dagrun.duration.success"} <= names
    assert len(names) > 100


def test_every_documented_name_has_its_own_rule_and_a_valid_prometheus_name(mapper: Mapper) -> None:
    problems = []
    for name, kind, _, _ in _instances():
        mapped = mapper.map(name, kind)
        if mapped is None or mapped.name in CATCH_ALL:
            problems.append(f"{name}: falls to the catch-all")
        elif not PROMETHEUS_NAME.match(mapped.name):
            problems.append(f"{name}: invalid Prometheus name {mapped.name}")
    assert problems == []


def test_legacy_name_variables_become_labels_not_names(mapper: Mapper) -> None:
    problems = []
    for name, kind, variables, legacy in _instances():
        if not legacy:
            continue
        mapped = mapper.map(name, kind)
        assert mapped is not None
        for variable, value in variables.items():
            if mapped.labels.get(variable) != value:
                problems.append(f"{name}: label {variable}={mapped.labels.get(variable)!r}, expected {value!r}")
            if value.lower() in mapped.name.lower():
                problems.append(f"{name}: {value} leaked into the name {mapped.name}")
    assert problems == []


def test_a_prometheus_name_never_carries_two_metric_types(mapper: Mapper) -> None:
    types: dict[str, set[str]] = {}
    for name, kind, _, _ in _instances():
        types.setdefault(mapper.map(name, kind).name, set()).add(kind)
    assert {name: kinds for name, kinds in types.items() if len(kinds) > 1} == {}


@pytest.mark.parametrize(
    ("line", "expected_name", "expected_labels"),
    [
        ("airflow.ti.finish.sales_daily.load_orders.success:1|c",
         "airflow_ti_finish", {"dag_id": "sales_daily", "task_id": "load_orders", "state": "success"}),
        ("airflow.ti.finish:1|c|#deployment:dep1,dag_id:sales_daily,task_id:load_orders,state:failed",
         "airflow_ti_finish", {"deployment": "dep1", "dag_id": "sales_daily", "task_id": "load_orders", "state": "failed"}),
        ("airflow.pool.open_slots.default_pool:128|g|#deployment:dep1",
         "airflow_pool_open_slots", {"deployment": "dep1", "pool_name": "default_pool"}),
        ("airflow.pool.open_slots:128|g|#pool_name:default_pool",
         "airflow_pool_open_slots", {"pool_name": "default_pool"}),
        ("airflow.scheduler_heartbeat:1|c|#organization:o1,workspace:w1,deployment:d1,component:scheduler,runtime_version:3.3-2",
         "airflow_scheduler_heartbeat",
         {"organization": "o1", "workspace": "w1", "deployment": "d1", "component": "scheduler", "runtime_version": "3.3-2"}),
        ("airflow.dag.sales_daily.group__load.duration:12.5|ms",
         "airflow_task_duration", {"dag_id": "sales_daily", "task_id": "group__load"}),
        ("airflow.dagrun.duration.failed.sales_daily:1500|ms", "airflow_dagrun_duration_failed", {"dag_id": "sales_daily"}),
        ("airflow.operator_failures_BashOperator:1|c", "airflow_operator_failures", {"operator_name": "BashOperator"}),
        ("airflow.SchedulerJob_start:1|c", "airflow_job_start", {"job_name": "SchedulerJob"}),
        ("airflow.edge_worker.ti.finish:1|c|#queue:default", "airflow_edge_worker_ti_finish", {"queue": "default"}),
        ("airflow.astronomer.task.outcome:1|c|#dag_id:d,task_id:t,operator:BashOperator,outcome:success",
         "astronomer_task_outcome", {"dag_id": "d", "task_id": "t", "operator": "BashOperator", "outcome": "success"}),
        ("airflow.astronomer.dag_run.duration:2000.000000|ms|#dag_id:d,outcome:success",
         "astronomer_dag_run_duration", {"dag_id": "d", "outcome": "success"}),
        ("airflow.astronomer.metrics.dropped_points:7|c", "astronomer_metrics_dropped_points", {}),
        ("airflow.a.b.c.d.e.f:1|c", "airflow_unmapped_counter", {"metric": "a.b.c.d.e.f"}),
        ("airflow.a.b.c.d.e.f:1|g", "airflow_unmapped_gauge", {"metric": "a.b.c.d.e.f"}),
        ("airflow.a.b.c.d.e.f:1|ms", "airflow_unmapped_timer", {"metric": "a.b.c.d.e.f"}),
    ],
)  # fmt: skip
def test_mapping_table(mapper: Mapper, line: str, expected_name: str, expected_labels: dict[str, str]) -> None:
    mapped = mapper.map_line(line)
    assert mapped is not None
    assert (mapped.name, mapped.labels) == (expected_name, expected_labels)


def test_the_catch_all_is_last(mapper: Mapper) -> None:
    assert [rule.name for rule in mapper.rules[-3:]] == sorted(CATCH_ALL)
