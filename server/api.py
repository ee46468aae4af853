"""JSON API operations: one declaration drives routing, validation and the OpenAPI document.

An operation names its path, method, body and query models and response model; the
wrapper parses and validates the request with exactly those models, and
:func:`openapi_document` describes the API from the same declarations.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from crypto.jsonlimits import API_LIMITS, JSONLimitError, loads
from registry.errors import InvalidInput, NotAuthenticated
from server.auth import COOKIE, SAFE_METHODS, cookie_token
from server.keys import SETTINGS

__all__ = [
    "API_PREFIX",
    "MAX_ID",
    "NO_CONTROL_CHARACTERS",
    "UPLOAD_ATTR",
    "ApiRoutes",
    "ErrorOut",
    "Operation",
    "parse_id",
    "validation_fields",
]

API_PREFIX = "/api/v1"
_PATH_PARAM = re.compile(r"{(\w+)}")
# Set on handlers that accept file uploads: they get the larger body limit.
UPLOAD_ATTR = "kvorum_upload"


class ErrorOut(BaseModel):
    """The one shape of every 4xx answer."""

    model_config = ConfigDict(frozen=True)

    error: str
    detail: str
    fields: dict[str, str] = {}
    #: The refusal in the user's language (the page's locale), for showing to them.
    message: str = ""
    #: A refused document of a secret vote: its reason code (as ``error``) and the
    #: check (``docs/ballots.md``, V-2xx) it fails; absent elsewhere.
    reason: str | None = None
    check: str | None = None


Handler = Callable[..., Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a model, a list[...] type, or None for 204
    status: int = 200
    upload: bool = False  # multipart file upload, with the larger body limit
    media_type: str | tuple[str, ...] = "application/json"
    public: bool = False  # no session needed (the OpenAPI document says so)
    # The body's schema, for a handler that reads the body itself (a signed ballot).
    raw_body: dict[str, Any] | None = None
    # The path parameter its answer's "id" fills (OpenAPI links to the operations on it).
    creates: str | None = None

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type,) if isinstance(self.media_type, str) else self.media_type

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on both databases


def parse_id(value: str | None) -> int | None:
    """A positive id written in ASCII digits ("³" and "٣" are digits to Python, not here)."""
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as {"field.path": "reason"}."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "body"
        message = err["msg"].removeprefix("Value error, ")
        fields.setdefault(loc, message)
    return fields


class ApiRoutes:
    """A table of operations, added to an app under :data:`API_PREFIX`."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        upload: bool = False,
        media_type: str | tuple[str, ...] = "application/json",
        public: bool = False,
        raw_body: dict[str, Any] | None = None,
        creates: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    tag,
                    body,
                    query,
                    response,
                    status,
                    upload,
                    media_type,
                    public,
                    raw_body,
                    creates,
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for op in self.operations:
            # Every path parameter is an id: only ASCII digits match, so "/votes/absentee"
            # is its own route and never also "/votes/{vote_id}" (whose Allow would lie).
            path = _PATH_PARAM.sub(r"{\1:[0-9]+}", op.path)
            app.router.add_route(op.method, API_PREFIX + path, _wrap(op), name=op.operation_id)


def _wrap(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    adapter = TypeAdapter(op.response) if op.response is not None else None

    async def endpoint(request: web.Request) -> web.StreamResponse:
        if (
            not op.public
            and request.method not in SAFE_METHODS
            and cookie_token(request, COOKIE) is None
        ):
            # Who is asking comes before what they sent: a caller without a session
            # learns nothing of the body's schema or the ids (the handler's own
            # check would refuse them only after the body was read).
            raise NotAuthenticated("log in to continue", code="not_authenticated")
        kwargs: dict[str, Any] = dict(request.match_info)
        for name, value in list(kwargs.items()):
            number = parse_id(value)
            if number is None:
                raise InvalidInput(f"'{value}' is not a valid id", fields={name: "not an id"})
            kwargs[name] = number
        if op.query is not None:
            try:
                kwargs["query"] = op.query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise InvalidInput(
                    "the query parameters are invalid", fields=validation_fields(exc)
                ) from None
        if op.body is not None:
            kwargs["body"] = await parse_json_body(request, op.body)
        result = await op.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if adapter is None:
            return web.Response(status=204)
        return web.json_response(
            body=adapter.dump_json(result), status=op.status, content_type="application/json"
        )

    endpoint.__name__ = op.operation_id
    if op.upload:
        setattr(endpoint, UPLOAD_ATTR, True)
    return endpoint


async def parse_json_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise InvalidInput(
            f"send the body as application/json, not '{request.content_type}'",
            code="unsupported_media_type",
        )
    raw = await request.read()
    if len(raw) > request.app[SETTINGS].max_json_body:
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.app[SETTINGS].max_json_body, actual_size=len(raw)
        )
    try:
        data = loads(raw, API_LIMITS)
    except JSONLimitError as exc:
        if exc.reason == "invalid_json":
            raise InvalidInput(
                f"the body is not valid JSON: {exc}", code="malformed_json"
            ) from None
        # Too deep, too long a number, string or array: docs/api.md lists the limits.
        raise InvalidInput(f"the body is beyond a limit: {exc}", code=exc.reason) from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("the request is invalid", fields=validation_fields(exc)) from None


# --- OpenAPI ------------------------------------------------------------------------------


# Ids are positive 32-bit integers (both databases' integer columns).
_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# Every error is the one shape; these are the statuses any operation may answer.
_ERRORS = (
    ("400", "bad request"),
    ("401", "not logged in"),
    ("403", "not allowed"),
    ("404", "not found"),
    ("409", "conflict"),
    ("413", "body too large"),
    ("415", "unsupported media type"),
    ("422", "invalid input (or beyond a limit: docs/api.md)"),
    ("429", "too many requests (see Retry-After)"),
)
#: What :class:`registry.schemas.StrictIn` refuses in every string: C0 controls but
#: tab, line feed and carriage return (an ECMA-262 pattern, as OpenAPI 3.1 takes).
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"


class _InputSchema(GenerateJsonSchema):
    """Input strings declare the control characters the models refuse."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        generated = super().str_schema(schema)
        if self.mode == "validation" and "pattern" not in generated:
            generated["pattern"] = NO_CONTROL_CHARACTERS
        return generated


def _links(source: Operation, operations: Sequence[Operation]) -> dict[str, Any]:
    """OpenAPI links from an operation that creates something to every operation on it:
    the new id fills its parameter, and the source's own path parameters the rest."""
    given = set(_PATH_PARAM.findall(source.path))
    links: dict[str, Any] = {}
    for target in operations:
        wanted = _PATH_PARAM.findall(target.path)
        if target is source or source.creates not in wanted:
            continue
        if not set(wanted) - {source.creates} <= given:
            continue
        parameters = {
            name: "$response.body#/id" if name == source.creates else f"$request.path.{name}"
            for name in wanted
        }
        links[target.operation_id] = {"operationId": target.operation_id, "parameters": parameters}
    return links


def openapi_document(tables: Sequence[ApiRoutes], *, title: str, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document generated from the operations' own models."""
    operations = [op for table in tables for op in table.operations]
    models: list[tuple[Any, Any]] = [(ErrorOut, "serialization")]
    for op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if isinstance(op.response, type) and issubclass(op.response, BaseModel):
            models.append((op.response, "serialization"))
    keyed, defs = models_json_schema(
        list(dict.fromkeys(models)),
        ref_template="#/components/schemas/{model}",
        schema_generator=_InputSchema,
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    def schema_of(tp: Any, mode: Any) -> dict[str, Any]:
        if (tp, mode) in keyed:
            return keyed[(tp, mode)]
        generated = TypeAdapter(tp).json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        schemas.update(generated.pop("$defs", {}))
        return generated

    error_ref = schema_of(ErrorOut, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": _ID_SCHEMA}
            for name in _PATH_PARAM.findall(op.path)
        ]
        if op.query is not None:
            query_schema = op.query.model_json_schema(
                ref_template="#/components/schemas/{model}", schema_generator=_InputSchema
            )
            schemas.update(query_schema.pop("$defs", {}))
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        responses: dict[str, Any] = {}
        if op.response is None:
            responses["204"] = {"description": "done"}
        else:
            schema = (
                schema_of(op.response, "serialization")
                if op.media_types == ("application/json",)
                else {"type": "string", "format": "binary"}
            )
            responses[str(op.status)] = {
                "description": "success",
                "content": {media: {"schema": schema} for media in op.media_types},
            }
        for code, text in _ERRORS:
            responses[code] = {
                "description": text,
                "content": {"application/json": {"schema": error_ref}},
            }
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before trying again",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        }
        if op.public:
            entry["security"] = []  # no session needed
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_of(op.body, "validation")}},
            }
        if op.raw_body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": op.raw_body}},
            }
        if op.upload:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                            "additionalProperties": False,
                        }
                    }
                },
            }
        if op.creates is not None:
            links = _links(op, operations)
            if links:
                responses[str(op.status)]["links"] = links
        paths.setdefault(API_PREFIX + op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "__Host-kvorum-session"}
            },
        },
        "security": [{"session": []}],
    }
