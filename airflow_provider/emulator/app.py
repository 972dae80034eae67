"""Assemble the ASGI application: the gateway layer in front of one FastAPI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from airflow_provider.emulator import admin
from airflow_provider.emulator.config import EmulatorConfig
from airflow_provider.emulator.gateway import Gateway, new_request_id
from airflow_provider.emulator.responses import gateway_error, json_response
from airflow_provider.emulator.services import clouddc, css, dcs, dcs_redislog, dis, iam, mef
from airflow_provider.emulator.state import EmulatorState

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


def create_app(state: EmulatorState | None = None) -> tuple[Gateway, EmulatorState]:
    state = state or EmulatorState(EmulatorConfig())
    api = FastAPI(title="Huawei Cloud log-task emulator", docs_url=None, redoc_url=None, openapi_url=None)
    for module in (iam, mef, clouddc, dis, css, dcs, dcs_redislog, admin):
        api.include_router(module.build_router(state))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            # The gateway publishes an API per method and path: another method on a known path is
            # an API that does not exist (APIGW.0101, the API signing guide's error code table).
            return gateway_error(
                404, "APIGW.0101", "The API does not exist or has not been published", new_request_id()
            )
        return json_response(
            {"error_code": f"APIGW.{exc.status_code:04d}", "error_msg": str(exc.detail)}, exc.status_code
        )

    api.add_exception_handler(HTTPException, http_error)
    return Gateway(api, state), state
