"""A small typed client for the emulator's ``/_emulator/`` control API."""

from __future__ import annotations

from typing import Any

import httpx


class AdminClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/_emulator", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = self._http.request(method, path, json=body, params=query or None)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator admin {method} {path} failed: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/reset")
        return result

    def info(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/info")
        return result

    def advance(self, seconds: float) -> float:
        return float(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def now(self) -> float:
        return float(self._call("GET", "/clock")["now"])

    def set_speed(self, speed: float) -> None:
        self._call("PUT", "/clock/speed", {"speed": speed})

    def set_outcome(
        self, service: str, outcome: str = "succeed", *, duration: float | None = None, task_id: str | None = None
    ) -> dict[str, Any]:
        body = {"service": service, "outcome": outcome, "duration": duration, "task_id": task_id}
        result: dict[str, Any] = self._call("POST", "/outcomes", body)
        return result

    def create_resource(self, kind: str, **spec: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/resources/{kind}", spec)
        return result

    def create_task(self, service: str, **spec: Any) -> str:
        return str(self._call("POST", f"/tasks/{service}", spec)["id"])

    def add_fault(self, kind: str = "status", **spec: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/faults", {"kind": kind, **spec})
        return result

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> int:
        return int(self._call("DELETE", "/faults")["removed"])

    def requests(self, service: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/requests", service=service, limit=limit)["requests"])

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def expire_tokens(self, *, temporary_keys: bool = True) -> int:
        return int(self._call("POST", "/tokens/expire", {"temporary_keys": temporary_keys})["expired"])

    def set_token_lifetime(self, seconds: float) -> None:
        self._call("PUT", "/tokens/lifetime", {"seconds": seconds})

    def set_quirks(self, **quirks: str) -> dict[str, str]:
        result: dict[str, str] = self._call("PUT", "/quirks", quirks)
        return result

    def restart_edge_manager(self) -> int:
        """Make the emulated MEF Center restart: every dump task (and the archive) is deleted."""
        return int(self._call("POST", "/edge/restart")["deleted_tasks"])

    def restart_mef(self) -> int:
        """Earlier name of ``restart_edge_manager``."""
        return self.restart_edge_manager()
