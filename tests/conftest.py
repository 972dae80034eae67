"""Test-wide Airflow settings: set before anything imports Airflow (see AIRFLOW_NOTES.md)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_ROOT / "example_dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# dag.test() runs only DAGs of a configured bundle: the examples, and the DAGs the tests need besides.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
        {
            "name": "test-dags",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(_ROOT / "tests" / "dags" / "dag_files")},
        },
    ]
)
# Each process its own database, also each pytest-xdist worker (they inherit the controller's
# environment, and a shared file would mix Fernet keys); outside xdist a database given is kept.
if "PYTEST_XDIST_WORKER" in os.environ or "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in os.environ:
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
