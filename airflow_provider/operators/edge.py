"""Collect edge node logs through MEF Center and download the archive."""

from __future__ import annotations

import ast
import time
from typing import TYPE_CHECKING, Any

from airflow_provider.core.errors import DumpBusyError, HuaweiCloudError, InvalidInputError
from airflow_provider.core.validation import check_edge_node_ids
from airflow_provider.operators.base import HuaweiCloudTaskOperator
from airflow_provider.operators.delivery import deliver

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from airflow.sdk import Context

    from airflow_provider.core.status import TaskStatus
    from airflow_provider.hooks.edge import EdgeManagerHook


def parse_node_ids(value: Sequence[object] | str) -> Sequence[object]:
    """Node ids as given, or as a rendered template: ``"[1, 2]"``, ``"['1', '2']"`` or ``"1,2"``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return [part.strip().strip("'\"") for part in text.strip("[]() ").split(",") if part.strip()]
    return list(parsed) if isinstance(parsed, (list, tuple, set)) else [parsed]


class EdgeLogDumpOperator(HuaweiCloudTaskOperator):
    """Create a MEF log dump task for ``node_ids``, wait for it, optionally download ``edgeNodes.tar.gz``.

    MEF runs one dump at a time: while it answers "dump busy" (40052001) the create call is
    retried every ``busy_retry_interval`` seconds for at most ``busy_timeout`` seconds.

    :param node_ids: 1-100 edge node ids (templated).
    :param download_to: local path, folder (ending in ``/``) or ObjectStoragePath URL (templated).
    :param accept_partial_failure: succeed on ``partiallyFailed`` (warning names the failed nodes).
    """

    service = "edge"
    conn_id_attr = "edge_manager_conn_id"
    template_fields = ("node_ids", "download_to")

    def __init__(
        self,
        *,
        node_ids: Sequence[int] | str,
        edge_manager_conn_id: str = "edge_manager_default",
        download_to: str | None = None,
        accept_partial_failure: bool = False,
        busy_timeout: float = 600.0,
        busy_retry_interval: float = 15.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if download_to and not self.wait_for_completion:
            raise InvalidInputError("download_to", download_to, "needs wait_for_completion=True")
        self.node_ids = node_ids
        self.edge_manager_conn_id = edge_manager_conn_id
        self.download_to = download_to
        self.accept_partial_failure = accept_partial_failure
        self.busy_timeout = busy_timeout
        self.busy_retry_interval = busy_retry_interval

    @property
    def accept_partial(self) -> bool:
        return self.accept_partial_failure

    def make_hook(self) -> EdgeManagerHook:
        from airflow_provider.hooks.edge import EdgeManagerHook

        return EdgeManagerHook(edge_manager_conn_id=self.edge_manager_conn_id)

    @property
    def edge_hook(self) -> EdgeManagerHook:
        return self.hook  # type: ignore[return-value]

    def start(self, context: Context) -> dict[str, str]:
        nodes = check_edge_node_ids(parse_node_ids(self.node_ids))
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                dump_task_id = self.edge_hook.create_log_dump_task(nodes)
                break
            except DumpBusyError as exc:
                if time.monotonic() + self.busy_retry_interval > deadline:
                    raise HuaweiCloudError(
                        f"MEF Center stayed busy with another log dump for {self.busy_timeout:.0f} s: {exc}"
                    ) from exc
                self.log.info("MEF Center is busy with another log dump; retrying in %.0f s", self.busy_retry_interval)
                time.sleep(self.busy_retry_interval)
        self.log.info("Edge log dump task %s created for nodes %s", dump_task_id, nodes)
        ids = {"dump_task_id": dump_task_id}
        self.publish(context, ids)
        return ids

    def finish(self, context: Context, status: TaskStatus) -> dict[str, Any]:
        result = status.to_json()
        if self.download_to:
            hook = self.edge_hook

            def download(path: Path) -> Path:
                return hook.download_log_dump(path)

            delivered = deliver(download, self.download_to, "edgeNodes.tar.gz")
            self.log.info("Edge node logs delivered to %s (%d bytes)", delivered.location, delivered.size)
            result["download"] = delivered.to_json()
        return result
