"""The one error shape of the API: `{"error": {"parameter": ..., "message": ...}}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the API refuses, with the parameter at fault (None when no single one is)."""

    def __init__(
        self,
        status: int,
        parameter: str | None,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.parameter = parameter
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"parameter": self.parameter, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(parameter: str | None, message: str) -> ApiError:
    return ApiError(400, parameter, message)


def not_found(parameter: str | None, message: str) -> ApiError:
    return ApiError(404, parameter, message)


def unprocessable(parameter: str | None, message: str) -> ApiError:
    return ApiError(422, parameter, message)


def shown(value: object, limit: int = 80) -> str:
    """A value quoted for an error message, cut short: hostile input is not echoed at length."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
