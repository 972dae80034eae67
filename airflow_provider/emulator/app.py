"""Assemble the ASGI application: the gateway layer in front of one FastAPI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response

from airflow_provider.emulator import admin
from airflow_provider.emulator.config import EmulatorConfig
from airflow_provider.emulator.gateway import Gateway, new_request_id
from airflow_provider.emulator.responses import gateway_error
from airflow_provider.emulator.services import clouddc, css, dcs, dcs_redislog, dis, edge, iam
from airflow_provider.emulator.state import EmulatorState

if TYPE_CHECKING:
    from starlette.requests import Request


def create_app(state: EmulatorState | None = None) -> tuple[Gateway, EmulatorState]:
    """Build the emulator's ASGI application: every service router and the admin API behind the ``Gateway``.

    Unrouted paths answer as the real endpoints do (MEF's plain ``404 page not found``, the API gateway's
    ``APIGW.0101``).

    :param state: the state to serve; a new one from the default ``EmulatorConfig`` if None.
    :return: the application and the state it serves.
    """
    state = state or EmulatorState(EmulatorConfig())
    api = FastAPI(title="Huawei Cloud log-task emulator", docs_url=None, redoc_url=None, openapi_url=None)
    for module in (iam, edge, clouddc, dis, css, dcs, dcs_redislog, admin):
        api.include_router(module.build_router(state))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405) and request.url.path.startswith("/edgemanager/"):
            # MEF's gin engine (gin.New(): HandleMethodNotAllowed off) answers an unrouted path or
            # method with its default 404 body.
            return Response(content=b"404 page not found", status_code=404, headers={"Content-Type": "text/plain"})
        if exc.status_code in (404, 405):
            # The gateway publishes an API per method and path: another method on a known path is
            # an API that does not exist (APIGW.0101, the API signing guide's error code table).
            return gateway_error(
                404, "APIGW.0101", "The API does not exist or has not been published", new_request_id()
            )
        # No emulated API raises another status: a safety net with the gateway's envelope and the
        # emulator's own code.
        return gateway_error(exc.status_code, f"APIGW.{exc.status_code:04d}", str(exc.detail), new_request_id())

    api.add_exception_handler(HTTPException, http_error)
    return Gateway(api, state), state
