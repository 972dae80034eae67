"""IAM: password tokens scoped to a project, and temporary AK/SK with a security token."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider.emulator.responses import iam_error, json_response
from airflow_provider.emulator.services.common import json_body
from airflow_provider.emulator.timefmt import iam_expiry

if TYPE_CHECKING:
    from starlette.responses import Response

    from airflow_provider.emulator.state import EmulatorState

TOKENS_PATH = "/v3/auth/tokens"
SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
AUTH_PROJECTS_PATH = "/v3/auth/projects"
MIN_DURATION, MAX_DURATION = 900, 24 * 3600


def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def build_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    @router.post(TOKENS_PATH)
    async def create_token(request: Request) -> Response:
        body = await json_body(request)
        methods = _dig(body, "auth", "identity", "methods")
        user = _dig(body, "auth", "identity", "password", "user")
        if not isinstance(methods, list) or "password" not in methods or not isinstance(user, dict):
            return iam_error(400, "Bad Request", "auth.identity must use the password method")
        domain = _dig(user, "domain", "name") or _dig(user, "domain", "id")
        store = state.identity
        if not store.check_password(domain, str(user.get("name")), str(user.get("password"))):
            return iam_error(401, "Unauthorized", "The username or password is wrong.")
        project = _dig(body, "auth", "scope", "project")
        if not isinstance(project, dict) or not store.project_matches(project.get("id"), project.get("name")):
            return iam_error(400, "Bad Request", "auth.scope.project does not name a project of this user")
        token = store.issue_token()
        ids = state.config.identities
        domain_ref = {"id": ids.domain_id, "name": ids.domain_name}
        payload = {
            "token": {
                "expires_at": iam_expiry(token.expires_at),
                "issued_at": iam_expiry(token.issued_at),
                "methods": ["password"],
                "project": {"id": ids.project_id, "name": ids.region, "domain": domain_ref},
                "user": {"id": ids.user_id, "name": ids.user_name, "domain": domain_ref, "password_expires_at": ""},
                "roles": [{"id": "0", "name": "op_fine_grained"}],
                # "Any non-empty string for this parameter will be interpreted as true" (IAM API doc)
                "catalog": [] if request.query_params.get("nocatalog") else _catalog(state, request),
            }
        }
        return json_response(payload, 201, headers={"X-Subject-Token": token.value})

    @router.get(AUTH_PROJECTS_PATH)
    async def list_auth_projects() -> Response:
        # The gateway has already authenticated the caller; the cheap call of test_connection().
        ids = state.config.identities
        project = {"id": ids.project_id, "name": ids.region, "enabled": True, "domain_id": ids.domain_id}
        return json_response({"projects": [project], "links": {"self": AUTH_PROJECTS_PATH}}, 200)

    @router.post(SECURITY_TOKENS_PATH)
    async def create_security_token(request: Request) -> Response:
        # The gateway has already authenticated the caller (token or AK/SK).
        body = await json_body(request)
        methods = _dig(body, "auth", "identity", "methods")
        if not isinstance(methods, list) or "token" not in methods:
            return iam_error(400, "Bad Request", "auth.identity.methods must contain token")
        token_id = _dig(body, "auth", "identity", "token", "id")
        if token_id is not None:
            issued = state.identity.token(str(token_id))
            if issued is None or issued.expires_at <= time.time():
                return iam_error(401, "Unauthorized", "The token in auth.identity.token.id is invalid or expired")
        duration = _dig(body, "auth", "identity", "token", "duration_seconds") or MIN_DURATION
        if not isinstance(duration, int) or not MIN_DURATION <= duration <= MAX_DURATION:
            return iam_error(400, "Bad Request", "duration_seconds must be within [900, 86400]")
        key = state.identity.issue_temporary_key(duration)
        return json_response(
            {
                "credential": {
                    "access": key.access_key,
                    "secret": key.secret_key,
                    "securitytoken": key.security_token,
                    "expires_at": iam_expiry(key.expires_at),
                }
            },
            201,
        )

    return router


def _catalog(state: EmulatorState, request: Request) -> list[dict[str, Any]]:
    base = str(request.base_url).rstrip("/")
    region = state.config.identities.region
    return [
        {"type": name, "name": name, "endpoints": [{"interface": "public", "region": region, "url": base}]}
        for name in ("css", "dcs", "dis", "clouddc", "iam")
    ]
