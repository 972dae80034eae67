"""Provider metadata: a broken dict breaks every ``airflow`` command, so check it the way Airflow does."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import airflow
import jsonschema  # type: ignore[import-untyped]
import pytest

from airflow_provider import __version__
from airflow_provider.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_DIR = Path(airflow.__file__).resolve().parent


def _pyproject_name() -> str:
    """``[project] name`` without tomllib (the package supports Python 3.10)."""
    section = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^name\s*=\s*"([^"]+)"', section, re.MULTILINE)
    assert match is not None
    return match.group(1)


DISTRIBUTION = _pyproject_name()
SECRET_FIELDS = {("huaweicloud", "security_token"), ("huawei_edge_manager", "client_private_key")}


@pytest.fixture(scope="module")
def info() -> dict[str, Any]:
    return get_provider_info()


def connection_types(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["connection-type"]: entry for entry in info["connection-types"]}


def test_validates_against_airflow_schema(info):
    schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)


def test_schema_check_is_not_vacuous(info):
    schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
    broken = {**info, "connection-types": [{"hook-class-name": "x.Y"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_ui_field_behaviour_validates_as_airflow_converts_it(info):
    schema = json.loads((AIRFLOW_DIR / "customized_form_field_behaviours.schema.json").read_text())
    for entry in info["connection-types"]:
        behaviour = entry["ui-field-behaviour"]
        converted = {
            "hidden_fields": behaviour.get("hidden-fields", []),
            "relabeling": behaviour.get("relabeling", {}),
            "placeholders": behaviour.get("placeholders", {}),
        }
        jsonschema.validate(converted, schema)
        assert set(behaviour) <= {"hidden-fields", "relabeling", "placeholders"}


def test_package_name_is_the_distribution_name(info):
    assert DISTRIBUTION == "airflow-provider-huaweicloud-logs"
    assert info["package-name"] == DISTRIBUTION
    assert not DISTRIBUTION.startswith("apache-airflow")
    assert info["name"]
    assert info["description"]


def test_versions_match_the_installed_distribution(info):
    assert info["versions"][0] == __version__ == metadata.version(DISTRIBUTION)


def test_hook_classes_import_and_match_their_connection_type(info):
    from airflow.sdk import BaseHook

    types = connection_types(info)
    assert set(types) == {"huaweicloud", "huawei_edge_manager"}
    for conn_type, entry in types.items():
        module_name, _, class_name = entry["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module_name), class_name)
        assert issubclass(hook, BaseHook)
        assert hook.conn_type == conn_type
        assert hook.hook_name == entry["hook-name"]
        assert hook.get_ui_field_behaviour() == entry["ui-field-behaviour"]


def test_every_python_module_imports(info):
    modules = [module for hook in info["hooks"] for module in hook["python-modules"]]
    assert modules
    for module in modules:
        importlib.import_module(module)
    integrations = {entry["integration-name"] for entry in info["integrations"]}
    assert {hook["integration-name"] for hook in info["hooks"]} <= integrations


def test_entry_point_of_installed_distribution(info):
    entry_points = metadata.distribution(DISTRIBUTION).entry_points.select(group="apache_airflow_provider")
    [entry_point] = list(entry_points)
    assert entry_point.value == "airflow_provider.get_provider_info:get_provider_info"
    assert entry_point.load() is get_provider_info


def test_secret_conn_fields_are_password_format(info):
    seen = set()
    for conn_type, entry in connection_types(info).items():
        for name, field in entry["conn-fields"].items():
            assert {"label", "schema"} <= set(field)
            is_secret = field["schema"].get("format") == "password"
            assert is_secret == ((conn_type, name) in SECRET_FIELDS), (conn_type, name)
            if is_secret:
                seen.add((conn_type, name))
    assert seen == SECRET_FIELDS


def test_secret_conn_fields_have_names_airflow_masks(info):
    """``"format": "password"`` masks only the form input: Airflow's JSON view and REST API mask an
    extra only when its key looks sensitive, so a secret field's name must be one of those."""
    from airflow._shared.secrets_masker import should_hide_value_for_key

    for conn_type, entry in connection_types(info).items():
        for name, field in entry["conn-fields"].items():
            secret = field["schema"].get("format") == "password"
            for key in (name, f"extra__{conn_type}__{name}"):  # as the form stores it, and the short form
                assert should_hide_value_for_key(key) == secret, (conn_type, key)


def test_choice_fields_offer_no_null_choice(info):
    """A None in ``enum`` shows in the form's dropdown as a literal "null"."""
    for entry in info["connection-types"]:
        for name, field in entry["conn-fields"].items():
            choices = field["schema"].get("enum")
            if choices is not None:
                assert None not in choices, name
                assert field["schema"].get("default") in choices, name


def test_conn_fields_are_extras_the_parser_reads(info):
    """Every declared form field must be a key connection_config understands (no dead fields)."""
    source = (ROOT / "airflow_provider" / "hooks" / "connection_config.py").read_text()
    for entry in info["connection-types"]:
        for name in entry["conn-fields"]:
            assert f'"{name}"' in source, name


def test_providers_manager_loads_fields_and_behaviours():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert DISTRIBUTION in manager.providers
    widgets = manager.connection_form_widgets
    assert widgets["extra__huaweicloud__security_token"].is_sensitive
    assert widgets["extra__huawei_edge_manager__client_private_key"].is_sensitive
    assert not widgets["extra__huaweicloud__region"].is_sensitive
    assert manager.field_behaviours["huaweicloud"]["hidden_fields"] == ["host", "port", "schema"]
    assert manager.field_behaviours["huawei_edge_manager"]["hidden_fields"] == ["login", "password"]
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hooks = ProvidersManagerTaskRuntime().hooks
    for conn_type, class_name in (
        ("huaweicloud", "airflow_provider.hooks.base.HuaweiCloudHook"),
        ("huawei_edge_manager", "airflow_provider.hooks.edge.EdgeManagerHook"),
    ):
        hook_info = hooks[conn_type]
        assert hook_info is not None
        assert hook_info.hook_class_name == class_name
        assert hook_info.package_name == DISTRIBUTION


def _airflow(*commands: list[str], home: Path) -> list[tuple[int, str, str]]:
    """Run ``airflow <command>`` for each command concurrently; (returncode, stdout, stderr) each."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    executable = Path(sys.executable).parent / "airflow"
    processes = [
        subprocess.Popen(
            [str(executable), *args],
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            results.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def test_airflow_cli_lists_the_provider_and_its_hooks(tmp_path: Path):
    (list_rc, list_out, list_err), (hooks_rc, hooks_out, hooks_err) = _airflow(
        ["providers", "list"], ["providers", "hooks"], home=tmp_path
    )
    assert list_rc == 0, list_err[-3000:]
    assert DISTRIBUTION in list_out
    assert hooks_rc == 0, hooks_err[-3000:]
    lines = [line for line in hooks_out.splitlines() if DISTRIBUTION in line]
    assert {line.split("|")[0].strip() for line in lines} == {"huaweicloud", "huawei_edge_manager"}
    assert "airflow_provider.hooks.base.HuaweiCloudHook" in hooks_out
    assert "airflow_provider.hooks.edge.EdgeManagerHook" in hooks_out
    for output in (list_err, hooks_err):
        assert "Traceback" not in output
