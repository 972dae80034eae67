"""What an operator or sensor hands on besides XCom: its outlets' asset events and its OpenLineage facets.

Both come from one description of the run, made when the task ends: the remote ids (the input, the
remote resource) and the objects it produced or found (``assets.Produced``: a download's location, a
CSS backup's OBS folder, files listed in OBS). OpenLineage is optional: without the
``apache-airflow-providers-openlineage`` package nothing calls ``get_openlineage_facets_on_complete``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.assets import download_objects, emit, has_outlets

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow.sdk import Context

    from airflow_provider.assets import Produced
    from airflow_provider.hooks.css import CssHook


class DeclaresOutputs:
    """Mixin of the operators and sensors: ``declare_outputs`` at the end of a successful run."""

    service: ClassVar[str]
    _outputs: tuple[dict[str, str], list[Produced], dict[str, Any]] | None = None

    def close_hook(self) -> None:
        """Release what ``produced`` may have opened (a hook); nothing by default."""

    def produced(self, ids: Mapping[str, str], result: Mapping[str, Any], *, asked: bool) -> list[Produced]:
        """The objects this run produced or found (default: a ``download`` and ``artifacts`` in the result).

        :param asked: someone uses them (outlets at run time, or OpenLineage asking): worth a request.
        """
        return download_objects(result)

    def output_summary(self, ids: Mapping[str, str], result: Mapping[str, Any]) -> dict[str, Any]:
        """What every asset event of the run carries: the service, remote ids, final state and times."""
        summary: dict[str, Any] = {"service": self.service, "remote_ids": dict(ids)}
        for key in ("state", "task_id", "started_at", "finished_at", "message"):
            if result.get(key) is not None:
                summary[key] = result[key]
        return summary

    def declare_outputs(self, context: Context, ids: Mapping[str, str], result: Any) -> Any:
        """Fill the outlets' asset events and remember the lineage; returns ``result`` unchanged."""
        if not isinstance(result, dict):
            return result
        outlets = list(getattr(self, "outlets", None) or [])
        used = has_outlets(outlets)
        produced = self.produced(ids, result, asked=used)
        self._outputs = (dict(ids), produced, dict(result))
        if used:
            emit(context, outlets, self.output_summary(ids, result), produced)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (when installed): the remote resource as input, the produced objects as outputs."""
        from airflow.providers.openlineage.extractors.base import OperatorLineage

        from airflow_provider.assets import openlineage_dataset, remote_dataset

        if self._outputs is None:
            return OperatorLineage()
        ids, produced, result = self._outputs
        if not has_outlets(getattr(self, "outlets", None) or []):
            # Not looked up at run time (nobody used it then): OpenLineage asks now, after the run,
            # so a hook made for it is closed again.
            try:
                produced = self.produced(ids, result, asked=True)
            finally:
                self.close_hook()
        return OperatorLineage(
            inputs=[remote_dataset(self.service, ids)] if ids else [],
            outputs=[openlineage_dataset(item.uri) for item in produced],
        )


def css_backup_objects(
    owner: Any, hook: Callable[[], CssHook], cluster_id: str, result: Mapping[str, Any], *, asked: bool
) -> list[Produced]:
    """A finished CSS backup's folder in OBS, ``obs://<log bucket>/<logPath>/``, when someone uses it
    (``asked``: outlets, or OpenLineage): it costs one request for the cluster's log settings. A bucket
    that cannot be read is a warning: the run succeeded all the same."""
    from airflow_provider.assets import Produced, obs_uri
    from airflow_provider.core.errors import HuaweiCloudError

    found = download_objects(result)
    detail = result.get("result") or {}
    log_path = str(detail.get("log_path") or "").strip("/")
    if result.get("state") != "SUCCEEDED" or not log_path:
        return found
    if not asked:
        return found
    try:
        bucket = hook().get_log_bucket(cluster_id)
    except HuaweiCloudError as exc:
        owner.log.warning("CSS log backup %s: cannot read the cluster's log bucket: %s", detail.get("record_id"), exc)
        return found
    extra = {k: detail[k] for k in ("record_id", "job_id", "job_types", "log_path") if detail.get(k)}
    return [*found, Produced(obs_uri(bucket, log_path + "/"), extra)]
