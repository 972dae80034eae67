"""Hook results that cross XCom as the types the hooks return."""

from __future__ import annotations


def allow_in_xcom(*classes: type) -> None:
    """Let Airflow read these hook results back from XCom in this process.

    Airflow deserializes an XCom value only into a class it allows (``[core]
    allowed_deserialization_classes``, default ``airflow.*``), so a ``@task`` that returns what a
    hook returned would fail in the task that reads it. Each hook module registers the types it
    returns when it is imported, and every task process of a DAG file that imports the hook at
    its top (as the examples do) imports it while parsing the file, before it reads any XCom.
    """
    try:
        from airflow.sdk.serde import allow_class
    except ImportError:  # Airflow before 3.3: list the classes in [core] allowed_deserialization_classes
        return
    for cls in classes:
        allow_class(cls)
