"""The README tells users what they need and cannot find in the code: checked where it matters."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from airflow.sdk import Connection

from airflow_provider.hooks.connection_config import cloud_config, edge_config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_the_test_button_port_zero_bug_of_airflow_3_3_2_and_its_workaround() -> None:
    section = README[README.index("## Connections") : README.index("## Operators and sensors")]
    assert "3.3.2" in section
    assert "port 0" in section
    assert "#73298" in section  # the upstream fix
    assert "airflow connections test" in section  # a workaround that works on 3.3.2
    assert "/api/v2/connections/test" in section


def test_the_connection_examples_parse_without_warnings() -> None:
    """Users copy these: none may use a deprecated extra (e.g. the clear-text ``client_key``)."""
    examples = re.findall(r"^'(\{\"conn_type\".*\})'$", README, re.MULTILINE)
    assert len(examples) >= 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for example in examples:
            conn = Connection.from_json(example, conn_id="example")
            parse = edge_config if json.loads(example)["conn_type"] == "huawei_edge_manager" else cloud_config
            parse(conn)


def test_the_event_driven_example_builds_a_dag_on_a_watched_asset() -> None:
    """Users copy it: it must build, with a watcher whose trigger shares its poll by transfer task."""
    section = README[README.index("## Event-driven scheduling") : README.index("## Develop offline")]
    assert "no period or backup is skipped" in section  # the guarantee across restarts
    [code] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    periods = namespace["periods"]
    [watcher] = periods.watchers  # type: ignore[attr-defined]
    assert watcher.trigger.resource_id == "CDaRPdvKUfZrAhzTaYs"
