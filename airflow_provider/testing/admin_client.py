"""A small typed client for the emulator's ``/_emulator/`` control API."""

from __future__ import annotations

from typing import Any

import httpx


class AdminClient:
    """A client of the emulator's control API, ``/_emulator/``.

    Each method is one call; an answer with an HTTP error status raises ``RuntimeError`` with its body.

    :param base_url: the emulator's URL (``EmulatorServer.url``).
    :param timeout: seconds per call.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/_emulator", timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = self._http.request(method, path, json=body, params=query or None)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator admin {method} {path} failed: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self) -> dict[str, Any]:
        """Rebuild the emulator's state (``POST /reset``); the answer lists the resources present after it."""
        result: dict[str, Any] = self._call("POST", "/reset")
        return result

    def info(self) -> dict[str, Any]:
        """The identities, clock speed, seed, resources and quirks (``GET /info``)."""
        result: dict[str, Any] = self._call("GET", "/info")
        return result

    def advance(self, seconds: float) -> float:
        """Move the emulated clock ``seconds`` forward; returns the new emulated time."""
        return float(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def now(self) -> float:
        """The emulated time."""
        return float(self._call("GET", "/clock")["now"])

    def set_speed(self, speed: float) -> None:
        """Set the emulated seconds per real second."""
        self._call("PUT", "/clock/speed", {"speed": speed})

    def set_outcome(
        self, service: str, outcome: str = "succeed", *, duration: float | None = None, task_id: str | None = None
    ) -> dict[str, Any]:
        """Decide how a task of ``service`` ends (``POST /outcomes``).

        :param outcome: ``succeed``, ``fail``, ``partial`` or (edge only) ``abort``.
        :param duration: emulated seconds until it ends; the service's default duration if None.
        :param task_id: an existing task to re-plan; without it, the plan is queued for the next task started.
        :return: the queued plans, or the task's new plan.
        """
        body = {"service": service, "outcome": outcome, "duration": duration, "task_id": task_id}
        result: dict[str, Any] = self._call("POST", "/outcomes", body)
        return result

    def create_resource(self, kind: str, **spec: Any) -> dict[str, Any]:
        """Create a resource of ``kind``; returns its ids.

        :param kind: ``css_clusters``, ``dcs_instances``, ``clouddc_servers``, ``dis_streams`` or ``edge_nodes``.
        """
        result: dict[str, Any] = self._call("POST", f"/resources/{kind}", spec)
        return result

    def create_task(self, service: str, **spec: Any) -> str:
        """Create a task of ``service`` from ``spec`` (outcome, duration, ids of the resource...); returns its id."""
        return str(self._call("POST", f"/tasks/{service}", spec)["id"])

    def add_fault(self, kind: str = "status", **spec: Any) -> dict[str, Any]:
        """Add a fault rule for matching requests (``POST /faults``); returns the rule.

        :param kind: ``status``, ``latency``, ``drop``, ``reset_mid_body``, ``close_mid_body``, ``malformed_json``,
            ``html_200`` or ``empty_body``.
        """
        result: dict[str, Any] = self._call("POST", "/faults", {"kind": kind, **spec})
        return result

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force."""
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> int:
        """Remove every fault rule; returns how many there were."""
        return int(self._call("DELETE", "/faults")["removed"])

    def requests(self, service: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The requests the emulator received, optionally of one ``service`` and at most ``limit``."""
        return list(self._call("GET", "/requests", service=service, limit=limit)["requests"])

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/requests")

    def expire_tokens(self, *, temporary_keys: bool = True) -> int:
        """Expire every issued IAM token (and, with ``temporary_keys``, temporary AK/SKs); returns how many."""
        return int(self._call("POST", "/tokens/expire", {"temporary_keys": temporary_keys})["expired"])

    def set_token_lifetime(self, seconds: float) -> None:
        """Set the lifetime of the tokens issued from now on, in seconds."""
        self._call("PUT", "/tokens/lifetime", {"seconds": seconds})

    def set_quirks(self, **quirks: str) -> dict[str, str]:
        """Change response forms (``QUIRK_FORMS``); returns every quirk and its form."""
        result: dict[str, str] = self._call("PUT", "/quirks", quirks)
        return result

    def restart_edge_manager(self) -> int:
        """Make the emulated MEF Center restart: every dump task (and the archive) is deleted."""
        return int(self._call("POST", "/edge/restart")["deleted_tasks"])

    def restart_mef(self) -> int:
        """Earlier name of ``restart_edge_manager``."""
        return self.restart_edge_manager()
