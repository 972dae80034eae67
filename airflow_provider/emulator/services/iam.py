"""IAM: password tokens scoped to a project, temporary AK/SK with a security token, and the project
lists (``/v3/auth/projects``; ``/v3/projects``, which the SDK's ``BasicCredentials`` reads for the
project id of a region when none is given).

Shapes follow the IAM API reference pages (Obtaining a User Token Through Password
Authentication, Obtaining a Temporary AK/SK, Querying the List of Projects Accessible to Users,
Querying Project Information Based on the Specified Criteria) and the SDK's models. The other
methods on these paths (token, assume_role, totp; an agency's temporary key) are not emulated:
they get a 400, a status those pages list, with the emulator's own message.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider.emulator.responses import iam_error, json_response
from airflow_provider.emulator.services.common import int_param, json_body
from airflow_provider.emulator.timefmt import iam_expiry

if TYPE_CHECKING:
    from starlette.responses import Response

    from airflow_provider.emulator.state import EmulatorState

TOKENS_PATH = "/v3/auth/tokens"
SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
AUTH_PROJECTS_PATH = "/v3/auth/projects"
PROJECTS_PATH = "/v3/projects"
MIN_DURATION, MAX_DURATION = 900, 24 * 3600


def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def build_router(state: EmulatorState) -> APIRouter:  # noqa: PLR0915 - one short handler per endpoint
    router = APIRouter()

    @router.post(TOKENS_PATH)
    async def create_token(request: Request) -> Response:
        body = await json_body(request)
        methods = _dig(body, "auth", "identity", "methods")
        user = _dig(body, "auth", "identity", "password", "user")
        if methods != ["password"]:
            return not_emulated("auth.identity.methods", methods, "tokens are issued for the password method only")
        if not isinstance(user, dict):
            return iam_error(400, "Bad Request", "auth.identity.password.user is required")
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

    def project(request: Request, *, paged_links: bool = False) -> dict[str, Any]:
        """The one project, as both project lists show it (their API reference examples); the
        ``/v3/projects`` page's table gives its links ``previous`` and ``next`` too (SDK ``Links``),
        null when there is none, where ``/v3/auth/projects`` has ``self`` only (SDK ``LinksSelf``)."""
        ids = state.config.identities
        base = str(request.base_url).rstrip("/")
        links: dict[str, Any] = {"self": f"{base}{PROJECTS_PATH}/{ids.project_id}"}
        if paged_links:
            links.update(previous=None, next=None)
        return {
            "is_domain": False,
            "description": "",
            "links": links,
            "enabled": True,
            "id": ids.project_id,
            # The examples show a region project's parent_id equal to its domain_id.
            "parent_id": ids.domain_id,
            "domain_id": ids.domain_id,
            "name": ids.region,
        }

    @router.get(AUTH_PROJECTS_PATH)
    async def list_auth_projects(request: Request) -> Response:
        # The gateway has already authenticated the caller; the cheap call of test_connection().
        # links: SDK LinksSelf (self only).
        links = {"self": f"{str(request.base_url).rstrip('/')}{AUTH_PROJECTS_PATH}"}
        return json_response({"projects": [project(request)], "links": links}, 200)

    @router.get(PROJECTS_PATH)
    async def list_projects(request: Request) -> Response:
        """Filtered by the query (domain_id, name, parent_id, enabled, is_domain); page and per_page
        are applied only together, as the page says. The SDK asks ``?name=<region>`` for a
        project id (``BasicCredentials.process_auth_params``)."""
        params = request.query_params
        shown = project(request, paged_links=True)
        for key in ("domain_id", "name", "parent_id"):
            if key in params and params[key] != shown[key]:
                shown = {}
        for key in ("enabled", "is_domain"):
            if key in params:
                if params[key] not in ("true", "false"):
                    return iam_error(400, "Bad Request", f"{key} must be true or false, not {params[key]!r}")
                if shown and (params[key] == "true") != shown[key]:
                    shown = {}
        projects = [shown] if shown else []
        if "page" in params and "per_page" in params:
            page, per_page = int_param(params["page"], 1, 1, 2**31 - 1), int_param(params["per_page"], 1, 1, 5000)
            if page is None or per_page is None:
                return iam_error(400, "Bad Request", "page must be 1 or more and per_page within [1, 5000]")
            projects = projects[(page - 1) * per_page : page * per_page]
        url = f"{str(request.base_url).rstrip('/')}{PROJECTS_PATH}"
        if request.url.query:
            url += f"?{request.url.query}"
        return json_response({"links": {"self": url, "previous": None, "next": None}, "projects": projects}, 200)

    @router.post(SECURITY_TOKENS_PATH)
    async def create_security_token(request: Request) -> Response:
        # The gateway has already authenticated the caller (token or AK/SK).
        body = await json_body(request)
        methods = _dig(body, "auth", "identity", "methods")
        if methods != ["token"]:
            return not_emulated("auth.identity.methods", methods, "temporary keys are issued for the token method only")
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


def not_emulated(field: str, value: Any, what: str) -> Response:
    """The answer to an IAM method the emulator does not emulate: 400 (listed by the page), its own text."""
    return iam_error(400, "Bad Request", f"{field} {value!r} is not emulated: {what}")


def _hex_id(*parts: str) -> str:
    """A stable 32-hex id, the form of the ids in the IAM examples."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def _catalog(state: EmulatorState, request: Request) -> list[dict[str, Any]]:
    """The password-token page's example catalog: one ``identity`` entry named ``iam``, its
    endpoint in region ``*`` (``TokenCatalog``, ``TokenCatalogEndpoint`` in the SDK)."""
    base = str(request.base_url).rstrip("/")
    domain = state.config.identities.domain_id
    endpoint = {
        "url": f"{base}/v3",
        "region": "*",
        "region_id": "*",
        "interface": "public",
        "id": _hex_id(domain, "iam", "endpoint"),
    }
    return [{"type": "identity", "id": _hex_id(domain, "iam"), "name": "iam", "endpoints": [endpoint]}]
