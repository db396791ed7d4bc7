"""Errors that services raise and the web/API layers turn into 4xx answers."""

from __future__ import annotations


class CaredeskError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(CaredeskError):
    status_code = 422


class NotFound(CaredeskError):
    status_code = 404


class Forbidden(CaredeskError):
    status_code = 403


class Conflict(CaredeskError):
    status_code = 409


class RateLimited(CaredeskError):
    status_code = 429


class Misconfigured(CaredeskError):
    """The deployment, not the request, is wrong (e.g. a missing key): try again once fixed."""

    status_code = 503
