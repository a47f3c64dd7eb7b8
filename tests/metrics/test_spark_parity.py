"""The same Ibis report expressions on DuckDB and on Spark give the same numbers."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agentslo.metrics import ReportQuery, report_from_tables
from agentslo.store import Store

pyspark = pytest.importorskip(
    "pyspark", reason="needs the spark extra: pip install -e '.[spark]' (and Java 17)"
)
pytestmark = pytest.mark.spark

if shutil.which("java") is None:
    pytest.skip("needs Java 17 on PATH for PySpark", allow_module_level=True)


def _fixture(seed: int = 11, n: int = 3000) -> dict[str, pa.Table]:
    """A random fleet with nulls, trials, late and conflicting outcomes."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 11, 1)
    starts = [t0 + timedelta(seconds=int(s)) for s in rng.integers(0, 3 * 86_400, n)]
    ends = [
        None if rng.random() < 0.1 else s + timedelta(milliseconds=int(rng.lognormal(9, 1)))
        for s in starts
    ]
    cost = [None if rng.random() < 0.05 else float(rng.lognormal(-3, 1)) for _ in range(n)]
    runs = pa.table(
        {
            "project": ["default"] * n,
            "run_id": [f"r{i}" for i in range(n)],
            "task_id": [f"t{i % 40}" for i in range(n)],
            "agent": rng.choice(["planner", "coder", "support"], n).tolist(),
            "version": rng.choice(["v1", "v2"], n).tolist(),
            "environment": ["trial"] * n,
            "trial": [int(i // 40) % 6 for i in range(n)],
            "started_at": pa.array(starts, pa.timestamp("us")),
            "ended_at": pa.array(ends, pa.timestamp("us")),
            "status": ["ok"] * n,
            "total_tokens": rng.integers(100, 50_000, n),
            "cost_usd": pa.array(cost, pa.float64()),
            "steps": rng.integers(1, 40, n),
        }
    )
    rows: list[dict[str, Any]] = []
    for i in range(n):
        for j, source in enumerate(["claimed", "judge", "verified", "human"]):
            if rng.random() < (0.9, 0.3, 0.7, 0.1)[j]:
                rows.append(
                    {
                        "project": "default",
                        "outcome_id": f"o{i}-{j}",
                        "run_id": f"r{i}",
                        "label": str(
                            rng.choice(["success", "failure", "partial"], p=[0.6, 0.3, 0.1])
                        ),
                        "source": source,
                        "recorded_at": starts[i] + timedelta(minutes=int(rng.integers(0, 600))),
                    }
                )
    from agentslo.store import conform

    return {
        "runs": conform("runs", runs),
        "outcomes": conform("outcomes", pa.Table.from_pylist(rows)),
    }


@pytest.fixture(scope="module")
def spark_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import ibis
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("agentslo-parity")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()


def _same(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, (path, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize(
    "query",
    [
        ReportQuery(by=("agent", "version")),
        ReportQuery(
            by=("agent",),
            bucket=timedelta(hours=6),
            sources=("verified", "human", "judge"),
            since=datetime(2026, 11, 1, 12),
            as_of=datetime(2026, 11, 3),
        ),
    ],
    ids=["by-agent-version", "bucketed-judge-range-as-of"],
)
def test_duckdb_and_spark_agree(spark_backend: Any, query: ReportQuery, tmp_path: Path) -> None:
    tables = _fixture()
    with Store(":memory:") as store:
        store.write(tables)
        duck = report_from_tables(store.table("runs"), store.table("outcomes"), query)
    # Spark reads what `agentslo export --parquet` writes: the path a user outgrowing
    # one machine takes.
    session = spark_backend._session
    for name in ("runs", "outcomes"):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(tables[name], path)
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    spark_runs = spark_backend.table("runs")
    spark_outcomes = spark_backend.table("outcomes")
    spark = report_from_tables(spark_runs, spark_outcomes, query)
    a, b = duck.to_dict(), spark.to_dict()
    a.pop("generated_at")
    b.pop("generated_at")
    assert a["groups"], "the fixture must produce groups"
    assert a["overall"].get("pass_k"), "the fixture must exercise pass^k"
    _same(a, b, "report")
