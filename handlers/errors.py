"""Every error the API answers, in one shape: `{code, message, more_info, status}` or its XML twin.

Handlers raise `ApiError`. Errors raised by connexion (validation, authentication, routing) and by the
request guard are translated here, so a client sees one format whatever failed.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

import orjson
from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException

from handlers.render import Format, response, xml_document

log = logging.getLogger(__name__)

REALM = 'Basic realm="Restcomm realm"'


class Code(IntEnum):
    """Error codes. Twilio's numbering where Twilio has one; otherwise 20000 + the HTTP status."""

    AUTHENTICATION_FAILED = 20003
    ACCOUNT_NOT_ACTIVE = 20005
    CANNOT_DELETE_LIVE = 20009
    BAD_REQUEST = 20400
    FORBIDDEN = 20403
    NOT_FOUND = 20404
    METHOD_NOT_ALLOWED = 20405
    CONFLICT = 20409
    BODY_TOO_LARGE = 20413
    UNSUPPORTED_MEDIA_TYPE = 20415
    TOO_MANY_REQUESTS = 20429
    SERVICE_UNAVAILABLE = 20503
    INTERNAL_ERROR = 20500
    TO_MISSING = 21201
    URL_INVALID = 21205
    SEND_DIGITS_INVALID = 21206
    TO_INVALID = 21211
    FROM_INVALID = 21212
    FROM_MISSING = 21213
    CALL_STATE = 21220
    STATUS_CALLBACK_INVALID = 21609

    @property
    def more_info(self) -> str:
        if self in _TWILIO_DEFINED:
            return f"https://www.twilio.com/docs/errors/{self.value}"
        return f"https://developer.mozilla.org/docs/Web/HTTP/Status/{self.value - 20000}"


# Codes Twilio documents; the others are ours (20000 + status) and point at the status's description.
_TWILIO_DEFINED = frozenset({
    Code.AUTHENTICATION_FAILED, Code.ACCOUNT_NOT_ACTIVE, Code.CANNOT_DELETE_LIVE, Code.NOT_FOUND, Code.TO_MISSING,
    Code.URL_INVALID, Code.SEND_DIGITS_INVALID,
    Code.TO_INVALID, Code.FROM_INVALID, Code.FROM_MISSING, Code.CALL_STATE, Code.STATUS_CALLBACK_INVALID,
    Code.TOO_MANY_REQUESTS,
})


class ApiError(Exception):
    def __init__(self, status: int, code: Code, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, code: Code = Code.BAD_REQUEST) -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str = "The requested resource was not found") -> ApiError:
    return ApiError(404, Code.NOT_FOUND, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, Code.FORBIDDEN, message)


def too_many(message: str) -> ApiError:
    """A limit of the account is reached (openapi.yaml's TooManyRequests); the client may retry soon."""
    return ApiError(429, Code.TOO_MANY_REQUESTS, message, {"Retry-After": "1"})


def error_response(path: str, error: ApiError):
    fmt = Format.of_path(path)
    fields: dict[str, Any] = {
        "code": int(error.code),
        "message": error.message,
        "more_info": error.code.more_info,
        "status": error.status,
    }
    if fmt is Format.JSON:
        body = orjson.dumps(fields)
    else:
        body = xml_document({"RestException": {
            "Code": str(fields["code"]),
            "Message": fields["message"],
            "MoreInfo": fields["more_info"],
            "Status": str(fields["status"]),
        }})
    return response(body, fmt, error.status, error.headers)


def from_problem(exc: ProblemException) -> ApiError:
    """Translate connexion's problem into our error, keeping one short line of its message."""
    detail = str(exc.detail or exc.title or "").strip()
    first_line = detail.split("\n", 1)[0].strip()
    status = exc.status or 400
    if status == 401:
        return ApiError(401, Code.AUTHENTICATION_FAILED, "Authentication failed: check the account SID "
                        "(or e-mail) and auth token (or password)", {"WWW-Authenticate": REALM})
    if status == 403:
        return ApiError(403, Code.FORBIDDEN, first_line or "Forbidden")
    if status == 415:
        return ApiError(415, Code.UNSUPPORTED_MEDIA_TYPE,
                        "Send the parameters as application/x-www-form-urlencoded")
    if status == 400:
        if first_line == "RequestBody is required":
            return bad_request("The request has no parameters: send them form-encoded in the body")
        return bad_request(_shorten(first_line) or "The request is malformed")
    return ApiError(status, _code_for_status(status), first_line or "Request failed")


def _shorten(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def from_http_exception(exc: HTTPException, allowed_methods: str | None) -> ApiError:
    status = exc.status_code
    if status == 404:
        return not_found()
    if status == 405:
        headers = {"Allow": allowed_methods} if allowed_methods else {}
        return ApiError(405, Code.METHOD_NOT_ALLOWED, "This method is not allowed on this resource", headers)
    if status == 413:
        return ApiError(413, Code.BODY_TOO_LARGE, str(exc.detail))
    return ApiError(status, _code_for_status(status), str(exc.detail).split("\n", 1)[0])


def _code_for_status(status: int) -> Code:
    try:
        return Code(20000 + status)
    except ValueError:
        return Code.BAD_REQUEST if status < 500 else Code.INTERNAL_ERROR


def internal_error() -> ApiError:
    return ApiError(500, Code.INTERNAL_ERROR, "Internal server error; it has been logged")
