"""The example responses of the five APIs' reference pages, verbatim, shared by the service and hook tests."""

from __future__ import annotations

# MEF edge manager log dump query (GET /edgemanager/v1/logmgmt/dump/task), the page's example.
EDGE_POLL = """{
    "status": "00000000",
    "msg": "success",
    "data": {
        "createdAt": "2023-08-23T17:06:56.28075167Z",
        "data": {
            "fileName": "edgeNodes.tar.gz"
        },
        "finishedAt": "2023-08-23T17:07:05.67786258Z",
        "progress": 100,
        "reason": "task succeeded",
        "startedAt": "2023-08-23T17:06:56.28095697Z",
        "status": "succeed",
        "taskId": "dumpMultiNodesLog.eca14a007f930e5689652a30"
    }
}"""

# CloudDC log export status (GET .../physicalservers/{id}/logs/exports/{export_id}), the page's example.
CLOUDDC_POLL = """{
"export_id" : "1",
"status" : "Running",
"percentage" : "30%",
"created_at" : "2024-07-01T11:32:49Z"
}"""

# DIS transfer task log (POST /v1/transfertasklog/{task_id}), the page's example: the list is one
# object, errorCode an integer.
DIS_LOG = """{
"errorCode" : -1,
"totalNum" : 100,
"message" : null,
"isStreamFound" : null,
"streamData" : null,
"streamDataList" : null,
"transferTaskList" : null,
"monitorData" : null,
"transferTaskLogList" : {
"transferTaskId" : "CDaRPdvKUfZrAhzTaYs",
"state" : 0,
"destinationType" : "OBS",
"startTime" : 1756539753280,
"endTime" : 1756540056070,
"transferBytes" : 30718683,
"transferRecordsNum" : 32943,
"transformRecordsNum" : 0,
"streamId" : "hFKqKEhCZgNayyIS8Zv",
"projectId" : "575ae927fc644f22b5c5af5209b7cf51",
"transferFileName" : "CDaRPdvKUfZrAhzTaYs.disMonitorTest.0.1756539753290",
"num" : 0
}
}"""

# CSS log backup records (GET .../clusters/{cluster_id}/logs/records), the page's example.
CSS_RECORDS = """{
"clusterLogRecord" : [ {
"id" : "d455a541-597e-4846-a6be-baad0ea361b1",
"clusterId" : "4213d908-f5dc-4633-8401-cfd7175fca0c",
"createAt" : 1656042837000,
"logPath" : "css-backup-1610678043608/css/log",
"status" : "RUNNING",
"finishedAt" : null,
"jobTypes" : "Manual",
"failedMsg" : null,
"jobId" : "2c9080df7c171342017c5e0884f8011c"
} ]
}"""

# DCS background task progress (GET .../tasks/{task_id}/progress), the page's example.
DCS_PROGRESS = """{
  "progress" : 30,
  "remain_time" : 100,
  "step_details" : [ {
    "step_id" : "9d1d1da8-650e-406f-81e4-b3c11515869f",
    "step_name" : "Pre-check.",
    "step_status" : "FINISH",
    "begin_time" : "2022-09-01 11:52:24",
    "end_time" : "2022-09-01 11:52:29",
    "error_code" : "DCS.4064",
    "sub_step_details" : [ {
      "sub_step_id" : "4692b05b-fa55-4f7d-9be6-527bde25b424",
      "sub_step_name" : "Resource check.",
      "sub_step_status" : "FINISH",
      "begin_time" : "2022-09-01 11:52:24",
      "end_time" : "2022-09-01 11:52:26",
      "detail" : "",
      "error_code" : "DCS.4065"
    }, {
      "sub_step_id" : "4692b05b-fa55-4f7d-9be6-527bde25b425",
      "sub_step_name" : "Instance status check.",
      "sub_step_status" : "FINISH",
      "begin_time" : "2022-09-01 11:52:26",
      "end_time" : "2022-09-01 11:52:29",
      "detail" : "",
      "error_code" : "DCS.4064"
    } ]
  }, {
    "step_id" : "9d1d1da8-650e-406f-3fad-c4a22515869f",
    "step_name" : "Data migration.",
    "step_status" : "EXECUTING",
    "begin_time" : "2022-09-01 11:52:30",
    "end_time" : "2022-09-01 11:54:30",
    "error_code" : "DCS.4065",
    "sub_step_details" : [ {
      "sub_step_id" : "cb58a8ea-b8e2-4626-b3fa-57ab1a830724",
      "sub_step_name" : "Resource request.",
      "sub_step_status" : "FINISH",
      "begin_time" : "2022-09-01 11:52:30",
      "end_time" : "2022-09-01 11:53:30",
      "detail" : "{node_id:9996c3376318417281fb5e611f3fb1a0,slot_range:[0 5460],\
full_migration:in progress,inc_migration:in progress}",
      "error_code" : "DCS.4065"
    }, {
      "sub_step_id" : "f9df7fd2-b31f-4ec3-bbb1-3dc740326342",
      "sub_step_name" : "Resource request.",
      "sub_step_status" : "FINISH",
      "begin_time" : "2022-09-01 11:53:30",
      "end_time" : "2022-09-01 11:54:30",
      "detail" : "{node_id:5b70f440ccc94789b34a5c98c2ba05ea,slot_range:[5461 10921],\
full_migration:to start, inc_migration:to start}",
      "error_code" : "DCS.4066"
    } ]
  } ]
}"""
