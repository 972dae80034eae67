"""What a hook returns crosses XCom: a ``@task`` returning it, another reading it back.

Airflow reads an XCom value back only into a class it allows, so without registration the reading
task failed with ``ImportError: ... was not found in allow list for deserialization``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider.testing.emulator_runner import EmulatorHandle

pytestmark = pytest.mark.dag

DAG_FILE = Path(__file__).resolve().parent / "dag_files" / "hook_results.py"


def test_a_task_returning_hook_results_is_read_back_downstream(
    airflow_db: None, huaweicloud_emulator: EmulatorHandle
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    huaweicloud_emulator.admin.set_outcome("edge", "succeed", duration=1)
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    run = bag.dags["hook_results_in_xcom"].test()

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    [reader] = [ti for ti in run.get_task_instances() if ti.task_id == "read_back"]
    value = reader.xcom_pull(task_ids="read_back")
    assert value["steps"] > 0
    assert value["periods"] > 0
    assert value["dump"].startswith("dumpMultiNodesLog.")


READ_IN_A_NEW_PROCESS = """
import json, runpy, sys
from airflow.sdk.serde import deserialize
if sys.argv[1] == "dag":
    runpy.run_path(sys.argv[2])  # what a task process does first: parse the DAG file
value = deserialize(json.loads(sys.stdin.read()))
print(json.dumps([type(item).__name__ for item in value]))
"""


@pytest.mark.parametrize("parse_dag_first", [True, False])
def test_a_new_task_process_that_parsed_the_dag_file_reads_hook_results(parse_dag_first: bool) -> None:
    """A task that reads an XCom runs in a process of its own: the value was written elsewhere."""
    from airflow.sdk.serde import serialize

    from airflow_provider.hooks.css import CssHook  # noqa: F401  (registers the types in this process)
    from airflow_provider.services.css import ClusterLogRecord

    stored = json.dumps(serialize([ClusterLogRecord.model_validate({"id": "r1", "status": "SUCCESS"})]))
    argv = [sys.executable, "-c", READ_IN_A_NEW_PROCESS, "dag" if parse_dag_first else "none", str(DAG_FILE)]
    done = subprocess.run(argv, check=False, input=stored, capture_output=True, text=True, timeout=120)
    if parse_dag_first:
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == ["ClusterLogRecord"]
    else:  # the limit, as the README says: a process that never imported the hook cannot
        assert done.returncode != 0
        assert "not found in allow list for deserialization" in done.stderr
