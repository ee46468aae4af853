"""Server-rendered forms: reading posted fields, validating them with the same models the
API uses, and putting every error, in the user's language, next to its field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from registry.contact import FieldRuleError
from registry.errors import Conflict, DomainError, NotFound
from server.api import parse_id
from server.auth import read_form
from server.i18n import Translator, refusal_text

__all__ = [
    "FieldErrors",
    "FormValues",
    "domain_errors",
    "id_errors",
    "path_id",
    "place_errors",
    "read_fields",
    "refusal_status",
    "see_other",
    "validate_form",
    "validation_errors",
]

FormValues = dict[str, str]
FieldErrors = dict[str, str]
M = TypeVar("M", bound=BaseModel)

# Reasons the services give in DomainError.fields, as catalogue keys. A "field:reason"
# entry wins over the bare reason where the same words mean different things.
_REASONS: dict[str, str] = {
    "required": "field.reason.required",
    "choose the organisation this one belongs to": "field.reason.choose_parent",
    "must be in the same tree": "field.reason.same_tree",
    "would make a cycle": "field.reason.cycle",
    "no such organisation": "field.reason.no_such_organisation",
    "no such active organisation": "field.reason.no_such_organisation",
    "retired": "field.reason.retired",
    "not allowed under this parent": "field.reason.kind_not_allowed",
    "already taken": "field.reason.name_taken",
    "role:already taken": "field.reason.role_taken",
    "already in use": "field.reason.card_in_use",
    "before joined_on": "field.reason.before_joined",
    "another union's organisation": "field.reason.another_union_org",
    "no such member": "field.reason.no_such_member",
    "another union": "field.reason.another_union",
    "has left": "field.reason.has_left",
    "already seated": "field.reason.already_seated",
    "before term_start": "field.reason.before_term_start",
    "after current end": "field.reason.after_current_end",
    "empty": "field.reason.empty_file",
    "not an id": "field.reason.not_an_id",
}

# The form field a rule of the whole model belongs to (pydantic reports those on the model).
_RULE_FIELDS = {"term_order": "term_end"}


def see_other(location: str) -> web.Response:
    """303 to the result page, *returned* so that the request's transaction commits."""
    return web.Response(status=303, headers={"Location": location})


def path_id(request: web.Request, name: str) -> int:
    found = parse_id(request.match_info[name])
    if found is None:
        raise NotFound(f"{request.match_info[name]} is not a valid id")
    return found


async def read_fields(request: web.Request, names: Iterable[str]) -> FormValues:
    """The named text fields of the posted form (a missing one is empty)."""
    posted = await read_form(request)
    values: FormValues = {}
    for name in names:
        value = posted.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


# --- errors in the user's language ------------------------------------------------------------


def _pydantic_message(error: Mapping[str, Any], t: Translator) -> tuple[str, str | None]:
    """The translated message of one pydantic error and, rarely, the field it belongs to."""
    kind = str(error.get("type", ""))
    raw_ctx = error.get("ctx") or {}
    ctx = {k: v for k, v in raw_ctx.items() if isinstance(v, int | str)}
    if kind == "value_error":
        # The shared field rules say which rule broke; the message is the catalogue's.
        cause = raw_ctx.get("error")
        if isinstance(cause, FieldRuleError) and t.has(f"field.error.{cause.rule}"):
            return t(f"field.error.{cause.rule}"), _RULE_FIELDS.get(cause.rule)
        return t("field.error.value_error"), None
    # A required text given empty ("too_short" where the length is checked after the
    # whitespace is normalised) asks to be filled in.
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        kind = "missing"
    key = f"field.error.{kind}"
    if not t.has(key):
        return t("field.error.generic"), None
    return t(key, **ctx), None


def validation_errors(exc: ValidationError, t: Translator) -> FieldErrors:
    errors: FieldErrors = {}
    for err in exc.errors():
        message, target = _pydantic_message(err, t)
        name = target or "_".join(str(p) for p in err["loc"]) or "form"
        errors.setdefault(name, message)
    return errors


def domain_errors(exc: DomainError, t: Translator) -> FieldErrors:
    errors: FieldErrors = {}
    for name, reason in exc.fields.items():
        key = _REASONS.get(f"{name}:{reason}") or _REASONS.get(reason)
        errors[name] = t(key) if key else reason
    if not errors:
        specific = refusal_text(t, exc.key, exc.params)
        key = f"form.refused.{exc.code}"
        if specific is not None:
            errors["form"] = specific
        else:
            errors["form"] = t(key) if t.has(key) else t("form.refused")
            errors["form_detail"] = exc.detail
    return errors


def place_errors(errors: FieldErrors, fields: Iterable[str], t: Translator) -> FieldErrors:
    """Errors of fields the form does not show go to the top of the form: none is lost."""
    shown = set(fields) | {"form", "form_detail"}
    placed = {k: v for k, v in errors.items() if k in shown}
    stray = [v for k, v in errors.items() if k not in shown]
    if stray:
        placed["form"] = " ".join([placed.get("form", t("form.invalid")), *stray])
    return placed


def validate_form(
    model: type[M], data: Mapping[str, Any], t: Translator
) -> tuple[M | None, FieldErrors]:
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, validation_errors(exc, t)


def refusal_status(exc: DomainError) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def id_errors(values: Mapping[str, str], names: Iterable[str], t: Translator) -> FieldErrors:
    """Ids typed or chosen in a form that cannot exist (not a number, or too big)."""
    errors: FieldErrors = {}
    for name in names:
        value = values.get(name, "").strip()
        if value and parse_id(value) is None:
            errors[name] = t("field.error.bad_id")
    return errors
