"""Members' signing keys: enrolment (proof of possession), listing, revocation, and the
public key list and revocation list at stable URLs."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.canonical import canonicalize_signed
from crypto.ed25519 import PublicKey
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.models import AuthChallenge, DeviceKey, Member
from registry.orm import utcnow
from registry.schemas import StrictIn
from server.api import ApiRoutes, parse_id
from server.auth import current_session, read_form, unit
from server.authevents import record_event
from server.keys import KEYRING, SETTINGS

__all__ = ["ENROLMENT_TYPE", "enrolment_message", "install", "routes", "session_is_fresh"]

routes = ApiRoutes()

ENROLMENT = "key-enrolment"
ENROLMENT_TYPE = "kvorum.key-enrolment"
CHALLENGE_MINUTES = 5
FRESH_METHODS = ("passkey", "invitation")


def enrolment_message(challenge: str, member_id: int, public_key: str) -> bytes:
    """What the browser signs to prove it holds the private key: bound to this server's
    challenge, this member and this public key (a proof cannot be reused for another)."""
    return canonicalize_signed(
        {
            "type": ENROLMENT_TYPE,
            "v": 1,
            "challenge": challenge,
            "member": member_id,
            "public_key": public_key,
        }
    )


class ChallengeOut(BaseModel):
    challenge_id: int
    challenge: str
    member_id: int
    type: str = ENROLMENT_TYPE


class EnrolIn(StrictIn):
    challenge_id: int = Field(ge=1, le=2**31 - 1)
    public_key: str = Field(min_length=43, max_length=43, description="raw Ed25519, base64url")
    signature: str = Field(min_length=86, max_length=86, description="Ed25519, base64url")
    label: str = Field(default="", max_length=200)


class DeviceKeyOut(BaseModel):
    id: int
    serial: int
    label: str
    public_key: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_reason: str


class EnrolOut(BaseModel):
    key: DeviceKeyOut
    certificate: dict[str, Any]


class RevokeIn(StrictIn):
    reason: str = Field(default="", max_length=200)


def _out(device: DeviceKey) -> DeviceKeyOut:
    return DeviceKeyOut(
        id=device.id,
        serial=device.serial,
        label=device.label,
        public_key=device.public_key,
        created_at=device.created_at,
        expires_at=device.credential.expires_at,
        revoked_at=device.credential.revoked_at,
        revoked_reason=device.credential.revoked_reason,
    )


def session_is_fresh(request: web.Request) -> bool:
    """Enrolment needs a passkey or invitation login of a few minutes ago: an old or
    code-only session is not enough to put a signing key in a member's name."""
    session = current_session(request)
    limit = dt.timedelta(minutes=request.app[SETTINGS].enrolment_fresh_minutes)
    return (
        session is not None
        and session.auth_method in FRESH_METHODS
        and utcnow() - session.created_at <= limit
    )


def _require_fresh(request: web.Request) -> None:
    if not session_is_fresh(request):
        raise PermissionDenied(
            "log in again with your passkey (or a new invitation) to create a signing key",
            code="reauthentication_required",
        )


@routes.route(
    "POST",
    "/keys/challenge",
    summary="Start enrolling this device's signing key",
    tag="keys",
    response=ChallengeOut,
)
async def key_challenge(request: web.Request) -> ChallengeOut:
    async with unit(request) as (db, actor):
        if actor.member_id is None:
            raise PermissionDenied("only a union member's account can hold a signing key")
        _require_fresh(request)
        session = current_session(request)
        assert session is not None
        challenge = secrets.token_bytes(32)
        row = AuthChallenge(
            purpose=ENROLMENT,
            challenge=challenge,
            account_id=actor.account_id,
            session_id=session.id,
            expires_at=utcnow() + dt.timedelta(minutes=CHALLENGE_MINUTES),
        )
        db.add(row)
        await db.flush()
        return ChallengeOut(
            challenge_id=row.id, challenge=b64u_encode(challenge), member_id=actor.member_id
        )


@routes.route(
    "POST",
    "/keys",
    summary="Certify this device's public key",
    tag="keys",
    body=EnrolIn,
    response=EnrolOut,
    status=201,
)
async def enrol_key(request: web.Request, body: EnrolIn) -> EnrolOut:
    async with unit(request) as (db, actor):
        _require_fresh(request)
        session = current_session(request)
        row = await db.get(AuthChallenge, body.challenge_id, with_for_update=True)
        if (
            row is None
            or session is None
            or row.purpose != ENROLMENT
            or row.session_id != session.id
            or row.used_at is not None
            or row.expires_at <= utcnow()
            or actor.member_id is None
        ):
            raise InvalidInput(
                "the challenge is unknown, used or expired; start again", code="challenge_invalid"
            )
        row.used_at = utcnow()
        try:
            public_key = PublicKey.from_b64u(body.public_key)
            signature = b64u_decode(body.signature, length=64)
            public_key.verify(
                enrolment_message(b64u_encode(row.challenge), actor.member_id, body.public_key),
                signature,
            )
        except CredentialError as exc:
            raise InvalidInput(
                f"the proof of possession failed: {exc}", code="proof_failed"
            ) from None
        member = await db.get(Member, actor.member_id)
        assert member is not None
        service = CredentialService(db, actor, request.app[KEYRING])
        device, document = await service.enrol_key(
            member,
            actor.account_id or 0,
            public_key,
            label=body.label or request.headers.get("User-Agent", "")[:80],
            valid_days=request.app[SETTINGS].certificate_days,
        )
        await record_event(
            db,
            request,
            "key_enrolled",
            account_id=actor.account_id,
            detail=f"certificate {device.serial}",
        )
        await db.refresh(device, ["credential"])
        return EnrolOut(key=_out(device), certificate=document.to_json())


@routes.route(
    "GET",
    "/keys",
    summary="The signing keys of the logged-in member",
    tag="keys",
    response=list[DeviceKeyOut],
)
async def list_keys(request: web.Request) -> list[DeviceKeyOut]:
    async with unit(request) as (db, actor):
        if actor.member_id is None:
            return []
        service = CredentialService(db, actor, request.app[KEYRING])
        return [_out(d) for d in await service.device_keys(actor.member_id)]


@routes.route(
    "POST",
    "/keys/{serial}/revoke",
    summary="Revoke a signing key (holder or registrar)",
    tag="keys",
    body=RevokeIn,
    response=DeviceKeyOut,
)
async def revoke_key(request: web.Request, serial: int, body: RevokeIn) -> DeviceKeyOut:
    async with unit(request) as (db, actor):
        return await _revoke(request, db, actor, serial, body.reason)


async def _revoke(
    request: web.Request, db: AsyncSession, actor: Actor, serial: int, reason: str
) -> DeviceKeyOut:
    device = await db.scalar(select(DeviceKey).where(DeviceKey.serial == serial))
    if device is None:
        raise NotFound(f"no signing key has certificate {serial}")
    await CredentialService(db, actor, request.app[KEYRING]).revoke(serial, reason or "revoked")
    await record_event(
        db, request, "key_revoked", account_id=actor.account_id, detail=f"certificate {serial}"
    )
    await db.refresh(device, ["credential"])
    return _out(device)


async def revoke_key_page(request: web.Request) -> web.StreamResponse:
    serial = parse_id(request.match_info["serial"])
    if serial is None:
        raise NotFound("no such key")
    form = await read_form(request)
    async with unit(request) as (db, actor):
        await _revoke(request, db, actor, serial, str(form.get("reason", ""))[:200])
    raise web.HTTPSeeOther("/account/security?done=revoked")


def install(app: web.Application) -> None:
    app.router.add_post(r"/account/keys/{serial:\d+}/revoke", revoke_key_page)
