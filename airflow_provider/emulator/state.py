"""All emulator state in one object, so ``reset`` is a single rebuild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.emulator.faults import FaultBook
from airflow_provider.emulator.identity import IdentityStore
from airflow_provider.emulator.requestlog import RequestLog
from airflow_provider.emulator.runtime import Runtime
from airflow_provider.emulator.services.clouddc import CloudDCService
from airflow_provider.emulator.services.css import CssService
from airflow_provider.emulator.services.dcs import DcsService
from airflow_provider.emulator.services.dcs_redislog import RedislogStore
from airflow_provider.emulator.services.dis import DisService
from airflow_provider.emulator.services.edge import EdgeManagerService

if TYPE_CHECKING:
    from airflow_provider.emulator.config import EmulatorConfig
    from airflow_provider.emulator.obs import ObsStore

# Ids of the resources present at start (from the API reference examples where they show one).
DEFAULT_CSS_CLUSTER = "4213d908-f5dc-4633-8401-cfd7175fca0c"
DEFAULT_DCS_INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
DEFAULT_CLOUDDC_SERVER = "a3b1c2d4-0000-4e5f-8a9b-emulator0001"
DEFAULT_DIS_STREAM = "disMonitorTest"
DEFAULT_DIS_STREAM_ID = "hFKqKEhCZgNayyIS8Zv"
DEFAULT_DIS_TASK_NAME = "emulator-obs-task"
DEFAULT_DIS_TASK_ID = "CDaRPdvKUfZrAhzTaYs"
DEFAULT_EDGE_NODES = (1, 2, 3, 4, 5)
#: Where the seeded DIS task dumps to (SDK ``OBSDestinationDescriptorRequest`` fields).
DEFAULT_DIS_DESTINATION = {
    "task_name": DEFAULT_DIS_TASK_NAME,
    "agency_name": "dis_admin_agency",
    "consumer_strategy": "LATEST",
    "file_prefix": "disMonitorTest",
    "partition_format": "yyyy/MM/dd",
    "obs_bucket_path": "dis-dump-emulator",
    "destination_file_type": "text",
    "record_delimiter": "\n",
}


class EmulatorState:
    """All of the emulator's state: identities, the emulated services' resources and tasks, faults and the request log.

    It starts with default resources (a CSS cluster, a DCS instance, a CloudDC server, a DIS stream with a transfer
    task, edge nodes 1-5); ``reset`` rebuilds it.

    :param config: identities, durations, quirks, speed and seed.
    :param obs: the S3-compatible server the emulated CSS and DIS write their objects to, if any.
    """

    def __init__(self, config: EmulatorConfig, obs: ObsStore | None = None) -> None:
        self.config = config
        #: The S3-compatible server the services write their OBS objects to (``--obs``), if any.
        self.obs = obs
        self.runtime = Runtime(config)
        self.faults = FaultBook(config.seed)
        self.log = RequestLog(config.request_log_size)
        self._build()

    def _build(self) -> None:
        rt = self.runtime
        self.identity = IdentityStore(self.config.identities, rt.token_lifetime)
        self.edge = EdgeManagerService(rt)
        self.clouddc = CloudDCService(rt)
        self.dis = DisService(rt, self.obs)
        self.css = CssService(rt, self.obs)
        self.dcs = DcsService(rt)
        self.redislog = RedislogStore()
        self._seed_defaults()

    def reset(self) -> None:
        """Back to the start state: configured clock speed and token lifetime, no tokens, faults or log."""
        with self.runtime.lock:
            self.runtime = Runtime(self.config)
            self.faults.reset(self.config.seed)
            self.log.clear()
            self._build()

    def _seed_defaults(self) -> None:
        durations = self.config.durations
        self.edge.add_nodes(list(DEFAULT_EDGE_NODES))
        self.clouddc.add_server(DEFAULT_CLOUDDC_SERVER)

        cluster = self.css.add_cluster(DEFAULT_CSS_CLUSTER, log_backup=True)
        self.css.start_backup(cluster, job_types="Auto", started_ago=durations.css + 3600)

        self.dcs.add_instance(DEFAULT_DCS_INSTANCE)
        self.dcs.add_task(DEFAULT_DCS_INSTANCE, name="ChangeInstanceSpec", started_ago=durations.dcs + 600)
        self.dcs.add_task(DEFAULT_DCS_INSTANCE, name="AddReplica", started_ago=durations.dcs / 4)

        stream = self.dis.add_stream(DEFAULT_DIS_STREAM, DEFAULT_DIS_STREAM_ID)
        self.dis.add_task(
            stream,
            DEFAULT_DIS_TASK_NAME,
            task_id=DEFAULT_DIS_TASK_ID,
            started_ago=3 * durations.dis_period + 1,
            descriptor=dict(DEFAULT_DIS_DESTINATION),
        )

    def resources(self) -> dict[str, Any]:
        """The ids of the resources present, by kind (DCS instances with their tasks, DIS streams with theirs)."""
        with self.runtime.lock:
            return {
                "css_clusters": sorted(self.css.clusters),
                "dcs_instances": {i: sorted(t) for i, t in self.dcs.instances.items()},
                "clouddc_servers": sorted(self.clouddc.servers),
                "dis_streams": {
                    s.name: {"stream_id": s.stream_id, "tasks": {t.name: t.id for t in s.tasks.values()}}
                    for s in self.dis.streams.values()
                },
                "edge_nodes": sorted(self.edge.nodes),
            }
