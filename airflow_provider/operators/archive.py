"""Archive what the collection tasks collected, by run date, with a ``manifest.json``.

Each collection task returns (XCom ``return_value``) an ``artifacts`` list naming *remote* objects
(``obs://bucket/key`` or any ObjectStoragePath URL storage every worker reaches), never a local
path: the archive step may run on another machine than the collections. ``LogArchiveOperator``
streams each object to ``<archive_root>/<YYYY-MM-DD>/<run>/<collection task>/<name>``, hashing it
as it passes and checking the size and SHA-256 the collection measured; every object is written
atomically (``airflow_provider.objects``), so a failed copy leaves nothing behind. The manifest is
written last: what was collected, where from, bytes, sha256, remote ids, durations and every
failure. A failed collection or copy is recorded there, and then the task fails.

A retry of the task reuses the run folder and rewrites the manifest; objects an earlier try of the
same attempt series committed (kept in the task state store) are not copied again.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.core.errors import HuaweiCloudError, InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context, ObjectStoragePath

#: XCom keys the provider's operators push their remote ids under.
REMOTE_ID_KEYS = (
    "dump_task_id",
    "server_id",
    "export_id",
    "cluster_id",
    "record_id",
    "job_id",
    "transfer_task_id",
    "stream_name",
    "task_name",
    "instance_id",
    "dcs_task_id",
    "redislog_id",
)
#: A manual run of an unscheduled DAG has no logical date (nor ``logical_date`` in the context):
#: its folder is dated by when it was triggered.
DEFAULT_RUN_FOLDER = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}/{{ run_id }}"
MANIFEST = "manifest.json"
#: Task state store key of the objects committed by earlier tries of the attempt series.
STORE_KEY = "huaweicloud_archive_committed"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_segments(text: str) -> list[str]:
    """Path segments with every character outside ``[A-Za-z0-9._=-]`` replaced (a run id has ``:`` and ``+``)."""
    segments = [_UNSAFE.sub("_", part) for part in text.split("/") if part not in ("", ".", "..")]
    if not segments:
        raise InvalidInputError("run_folder", text, "names no folder")
    return segments


def artifacts_of(value: object) -> list[dict[str, Any]]:
    """The ``artifacts`` a collection task returned; an entry without a ``url`` is kept to be refused."""
    if not isinstance(value, dict):
        return []
    items = value.get("artifacts")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _duration(status: Mapping[str, Any]) -> float | None:
    """Seconds the remote task ran; services that report no finish time are bounded by when it was seen."""
    started = status.get("started_at")
    finished = status.get("finished_at") or status.get("observed_at")
    if not isinstance(started, str) or not isinstance(finished, str):
        return None
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return seconds if seconds >= 0 else None  # clocks disagree


class LogArchiveOperator(BaseOperator):
    """Copy the collected logs of this run under ``archive_root`` and write ``manifest.json`` there.

    Runs when its upstream tasks are done whatever their state (``trigger_rule="all_done"``), so a
    failed collection is recorded. Returns ``{"folder", "manifest", "files", "bytes"}``.

    :param archive_root: an ObjectStoragePath URL (templated), e.g. ``obs://my-bucket/log-archive``;
        ``obs://`` uses the ``huaweicloud`` connection (``obs://<conn_id>@bucket/...`` picks one).
    :param collections: ``{task_id: what it collects}`` of the collection tasks whose results are
        archived, in manifest order.
    :param run_folder: the run's folder under the root (templated); default ``<YYYY-MM-DD>/<run_id>``
        from the logical date (the run's start when it has none). Characters a path should not
        carry become ``_``.
    """

    template_fields = ("archive_root", "run_folder")
    ui_color = "#d6e4f0"

    def __init__(
        self,
        *,
        archive_root: str,
        collections: Mapping[str, str],
        run_folder: str = DEFAULT_RUN_FOLDER,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        if not collections:
            raise InvalidInputError("collections", collections, "must name at least one collection task")
        self.archive_root = archive_root
        self.collections = dict(collections)
        self.run_folder = run_folder

    def execute(self, context: Context) -> dict[str, Any]:
        """Copy every collection task's ``artifacts`` into the run folder (objects an earlier try
        committed are not copied again), then write the manifest.

        Returns ``{"folder", "manifest", "files", "bytes"}``.

        :raises AirflowFailException: a collection task failed (a retry cannot help); the manifest
            records it.
        :raises HuaweiCloudError: a copy failed; the manifest records it.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider.objects import atomic_write, path_of

        if "://" not in self.archive_root:
            raise InvalidInputError(
                "archive_root", self.archive_root, "must be an ObjectStoragePath URL such as obs://bucket/folder"
            )
        folder = path_of(self.archive_root)
        for segment in safe_segments(self.run_folder):
            folder = folder / segment
        committed = _Committed(context)
        entries = [
            self._collection(context, task_id, what, folder, committed) for task_id, what in self.collections.items()
        ]
        failures = [failure for entry in entries for failure in entry["failures"]]
        files = [item for entry in entries for item in entry["files"] if item["status"] == "archived"]
        manifest = {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "archive_folder": str(folder),
            "written_at": datetime.now(timezone.utc).isoformat(),
            "ok": not failures,
            "files": len(files),
            "bytes": sum(item["bytes"] for item in files),
            "failures": failures,
            "collections": entries,
        }
        target = folder / MANIFEST
        with atomic_write(target) as handle:
            handle.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
        self.log.info(
            "Archived %d file(s), %d bytes, to %s; manifest %s", len(files), manifest["bytes"], folder, target
        )
        if failures:
            failed = sorted({failure["task"] for failure in failures})
            message = f"log archival incomplete for {', '.join(failed)} (see {target}): " + "; ".join(
                failure["error"] for failure in failures
            )
            if any(failure.get("kind") == "collection" for failure in failures):
                raise AirflowFailException(message)  # retrying the archive cannot bring a failed collection back
            raise HuaweiCloudError(message)
        return {"folder": str(folder), "manifest": str(target), "files": len(files), "bytes": manifest["bytes"]}

    def _collection(
        self, context: Context, task_id: str, what: str, folder: ObjectStoragePath, committed: _Committed
    ) -> dict[str, Any]:
        ti = context["ti"]
        status = ti.xcom_pull(task_ids=task_id)
        ids = {key: ti.xcom_pull(task_ids=task_id, key=key) for key in REMOTE_ID_KEYS}
        entry: dict[str, Any] = {
            "task": task_id,
            "what": what,
            "remote_ids": {key: value for key, value in ids.items() if value},
            "state": "FAILED",
            "files": [],
            "failures": [],
        }
        if not isinstance(status, dict):
            entry["failures"].append(
                {
                    "task": task_id,
                    "kind": "collection",
                    "error": f"{task_id} returned nothing (it failed or did not run)",
                }
            )
            return entry
        entry["state"] = status.get("state", "SUCCEEDED")
        entry["service"] = status.get("service")
        if status.get("task_id"):
            entry["remote_ids"].setdefault("task_id", status["task_id"])
        entry["duration_seconds"] = _duration(status)
        result = status.get("result")
        if isinstance(result, dict) and result.get("failed_nodes"):
            entry["failed_nodes"] = result["failed_nodes"]
        artifacts = artifacts_of(status)
        if not artifacts:
            entry["failures"].append(
                {"task": task_id, "kind": "collection", "error": f"{task_id} named no object to archive"}
            )
        for artifact in artifacts:
            entry["files"].append(self._archive_one(task_id, artifact, folder / task_id, committed, entry["failures"]))
        return entry

    def _archive_one(
        self,
        task_id: str,
        artifact: Mapping[str, Any],
        folder: ObjectStoragePath,
        committed: _Committed,
        failures: list[dict[str, Any]],
    ) -> dict[str, Any]:
        from airflow_provider.objects import copy_object, path_of

        url = artifact.get("url")
        item: dict[str, Any] = {"source": url, "status": "failed"}
        try:
            if not isinstance(url, str) or "://" not in url:
                raise InvalidInputError(
                    f"{task_id}.artifacts.url",
                    url,
                    "must be an object storage URL every worker reaches (a local path does not pass between tasks)",
                )
            conn_id = artifact.get("conn_id")
            source = path_of(url, conn_id=conn_id if isinstance(conn_id, str) else None)
            name = artifact.get("name") or source.name
            target = folder
            for segment in safe_segments(str(name)):
                target = target / segment
            item["name"] = str(name)
            item["archived_to"] = str(target)
            size, sha256 = artifact.get("bytes"), artifact.get("sha256")
            earlier = committed.get(str(target))
            if earlier is not None and target.exists() and target.stat().st_size == earlier["bytes"]:
                self.log.info("%s was archived by an earlier try: not copying it again", target)
                item.update(earlier, status="archived", reused=True)
                return item
            copied = copy_object(
                source,
                target,
                expect_size=size if isinstance(size, int) else None,
                expect_sha256=sha256 if isinstance(sha256, str) else None,
            )
        except Exception as exc:
            self.log.warning("Could not archive %s for %s: %s", url, task_id, exc)
            item["error"] = str(exc)
            failures.append({"task": task_id, "kind": "copy", "file": url, "error": f"{url}: {exc}"})
            return item
        item.update(status="archived", bytes=copied.size, sha256=copied.sha256, copy_seconds=round(copied.seconds, 3))
        committed.add(str(target), {"bytes": copied.size, "sha256": copied.sha256})
        return item


class _Committed:
    """Objects committed by tries of this attempt series (the task state store; a clear starts over)."""

    def __init__(self, context: Context) -> None:
        self._store = context.get("task_state_store")
        ti = context.get("ti")
        self._series = getattr(ti, "max_tries", None)
        self._try = getattr(ti, "try_number", None)
        stored: Any = self._store.get(STORE_KEY) if self._store is not None else None
        valid = isinstance(stored, dict) and stored.get("series") == self._series
        files: Any = stored.get("files") if valid else None
        self._files: dict[str, Any] = dict(files) if isinstance(files, dict) else {}

    def get(self, target: str) -> dict[str, Any] | None:
        found = self._files.get(target)
        return dict(found) if isinstance(found, dict) and isinstance(found.get("bytes"), int) else None

    def add(self, target: str, record: dict[str, Any]) -> None:
        self._files[target] = {**record, "try": self._try, "at": time.time()}
        if self._store is not None:
            stored: Any = {"series": self._series, "files": self._files}
            self._store.set(STORE_KEY, stored)
