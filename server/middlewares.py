"""Cross-cutting request handling: request ids and logs, error mapping, origin and size checks."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from registry.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from server.api import API_PREFIX, UPLOAD_ATTR, ErrorOut, validation_fields
from server.auth import SAFE_METHODS
from server.authevents import client_address
from server.keys import SETTINGS
from server.logs import REQUEST_ID
from server.origins import is_own_origin

__all__ = ["error_middleware", "guard_middleware", "request_id_middleware", "security_headers"]

log = logging.getLogger("kvorum.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Domain errors become HTTP here and nowhere else.
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    NotAuthenticated: 401,
    RateLimited: 429,
}
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}
REQUEST_ID_KEY = web.RequestKey("request_id", str)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# A strict policy: no inline script or style anywhere, no framing, no plugins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def is_api(request: web.Request) -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def upload(handler: Handler) -> Handler:
    """Mark a handler as accepting file uploads (the larger body limit)."""
    setattr(handler, UPLOAD_ATTR, True)
    return handler


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and static files included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
    if is_api(request) or response.content_type == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    if request.app[SETTINGS].effective_public_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    headers["X-Request-Id"] = request.get(REQUEST_ID_KEY, "-")


def request_id_middleware() -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Request-Id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        request[REQUEST_ID_KEY] = request_id
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "remote": client_address(request),
                },
            )
            REQUEST_ID.reset(token)

    return middleware


def error_middleware(
    *,
    render_error: Callable[[web.Request, int, str, str, str], Awaitable[web.StreamResponse]],
    message_of: Callable[[web.Request, str, Mapping[str, str | int]], str],
) -> Middleware:
    """Map domain errors and HTTP errors to the error shape (API) or an error page;
    ``message_of`` says the refusal in the user's language."""

    async def respond(
        request: web.Request,
        status: int,
        code: str,
        detail: str,
        fields: dict[str, str],
        params: Mapping[str, str | int] | None = None,
        key: str | None = None,
        check: str | None = None,
    ) -> web.StreamResponse:
        message = message_of(request, key or code, params or {})
        if is_api(request):
            body = ErrorOut(
                error=code,
                detail=detail,
                fields=fields,
                message=message,
                reason=code if check else None,
                check=check,
            ).model_dump_json(exclude_none=True)
            return web.Response(status=status, text=body, content_type="application/json")
        return await render_error(request, status, code, detail, message)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as exc:
            status = next(s for cls, s in STATUS_OF.items() if isinstance(exc, cls))
            if status >= 500:
                raise
            response = await respond(
                request,
                status,
                exc.code,
                exc.detail,
                exc.fields,
                exc.params,
                exc.key,
                getattr(exc, "check", None),
            )
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except ValidationError as exc:
            fields = validation_fields(exc)
            return await respond(request, 422, "invalid_input", "the input is invalid", fields)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.status >= 500:
                raise
            code = HTTP_CODES.get(exc.status, "bad_request")
            detail = exc.text or exc.reason
            if exc.status == 413:
                detail = "the request body is larger than this endpoint accepts"
            response = await respond(request, exc.status, code, detail, {})
            for name in ("Allow", "Retry-After"):
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
            return response
        except Exception:
            log.exception("unhandled error")
            return await respond(
                request, 500, "internal_error", "something went wrong on the server", {}
            )

    return middleware


def guard_middleware() -> Middleware:
    """Refuse cross-site state changes and oversized bodies before any handler runs."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        settings = request.app[SETTINGS]
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            # A browser always sends Origin on a cross-site POST; a missing one is a
            # non-browser client, which still needs the session's CSRF token.
            if origin is not None and not is_own_origin(request, origin):
                raise PermissionDenied(
                    f"requests from {origin} are not accepted", code="bad_origin"
                )
            match = request.match_info
            route_handler = getattr(match, "handler", None)
            limit = (
                settings.max_upload_body
                if getattr(route_handler, UPLOAD_ATTR, False)
                else settings.max_json_body
            )
            if request.content_length is not None and request.content_length > limit:
                raise web.HTTPRequestEntityTooLarge(
                    max_size=limit, actual_size=request.content_length
                )
        return await handler(request)

    return middleware
