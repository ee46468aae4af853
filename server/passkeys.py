"""Passkeys: WebAuthn registration and login, with the ``webauthn`` package.

Challenges are kept on the server, single-use and short-lived; the browser's answer
is checked against the relying party id (the public URL's host name) and its origin,
so a credential made for another site, or an answer replayed, is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import webauthn
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from registry.errors import InvalidInput, NotAuthenticated, RateLimited
from registry.models import Account, AuthChallenge, Passkey, Session
from registry.orm import utcnow
from server.settings import Settings

__all__ = [
    "PasskeyRejected",
    "finish_login",
    "finish_registration",
    "start_login",
    "start_registration",
]

CHALLENGE_MINUTES = 5
REGISTER = "passkey-register"
LOGIN = "passkey-login"
# Ed25519, P-256 and RSA: what platform authenticators and security keys offer.
ALGORITHMS = [
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]


class PasskeyRejected(NotAuthenticated):
    """The authenticator's answer did not verify."""

    code = "passkey_rejected"


async def _challenge(
    db: AsyncSession,
    purpose: str,
    challenge: bytes,
    *,
    account: Account | None,
    session: Session | None,
) -> AuthChallenge:
    row = AuthChallenge(
        purpose=purpose,
        challenge=challenge,
        account_id=account.id if account else None,
        session_id=session.id if session else None,
        expires_at=utcnow() + dt.timedelta(minutes=CHALLENGE_MINUTES),
    )
    db.add(row)
    await db.flush()
    return row


async def _spend(db: AsyncSession, challenge_id: int, purpose: str, **match: object) -> bytes:
    row = await db.get(AuthChallenge, challenge_id, with_for_update=True)
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= utcnow()
        or any(getattr(row, k) != v for k, v in match.items())
    ):
        raise PasskeyRejected("the challenge is unknown, used or expired; start again")
    row.used_at = utcnow()
    return row.challenge


async def start_registration(
    db: AsyncSession, settings: Settings, account: Account, session: Session
) -> tuple[int, str]:
    """Options for ``navigator.credentials.create`` (JSON) and the challenge id."""
    if account.webauthn_user_id is None:
        account.webauthn_user_id = secrets.token_bytes(16)
    existing = (
        await db.scalars(select(Passkey.credential_id).where(Passkey.account_id == account.id))
    ).all()
    options = webauthn.generate_registration_options(
        rp_id=settings.public_host,
        rp_name="Кворум",
        user_id=account.webauthn_user_id,
        user_name=account.email or f"account-{account.id}",
        user_display_name=account.display_name,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        supported_pub_key_algs=ALGORITHMS,
    )
    row = await _challenge(db, REGISTER, options.challenge, account=account, session=session)
    return row.id, webauthn.options_to_json(options)


async def finish_registration(
    db: AsyncSession,
    settings: Settings,
    account: Account,
    session: Session,
    challenge_id: int,
    credential: dict[str, Any],
    label: str,
) -> Passkey:
    challenge = await _spend(
        db, challenge_id, REGISTER, account_id=account.id, session_id=session.id
    )
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.public_host,
            expected_origin=settings.effective_public_url,
            supported_pub_key_algs=ALGORITHMS,
        )
    except WebAuthnException as exc:
        raise InvalidInput(
            f"the passkey was not accepted: {exc}", code="passkey_rejected"
        ) from None
    clash = await db.scalar(
        select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    )
    if clash is not None:
        raise InvalidInput("this passkey is already registered", code="passkey_rejected")
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        account_id=account.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(str(t) for t in transports)[:200],
        label=label[:200],
    )
    db.add(passkey)
    await db.flush()
    return passkey


async def start_login(db: AsyncSession, settings: Settings) -> tuple[int, str]:
    """Options for ``navigator.credentials.get``: any passkey of this site (discoverable).

    Anyone may ask, so what it stores is bounded: expired login challenges go first,
    and while ``settings.max_open_logins`` are open no other is made (429 until the oldest
    expires). Each address is also throttled before this is reached.
    """
    now = utcnow()
    await db.execute(
        delete(AuthChallenge).where(AuthChallenge.purpose == LOGIN, AuthChallenge.expires_at <= now)
    )
    open_count, first_expiry = (
        await db.execute(
            select(func.count(), func.min(AuthChallenge.expires_at)).where(
                AuthChallenge.purpose == LOGIN, AuthChallenge.used_at.is_(None)
            )
        )
    ).one()
    if open_count >= settings.max_open_logins:
        if first_expiry is not None and first_expiry.tzinfo is None:
            first_expiry = first_expiry.replace(tzinfo=dt.UTC)
        retry = int(((first_expiry or now) - now).total_seconds()) + 1
        raise RateLimited(
            f"too many passkey logins are under way; try again in {retry} s", retry_after=retry
        )
    options = webauthn.generate_authentication_options(
        rp_id=settings.public_host, user_verification=UserVerificationRequirement.PREFERRED
    )
    row = await _challenge(db, LOGIN, options.challenge, account=None, session=None)
    return row.id, webauthn.options_to_json(options)


async def credential_account(db: AsyncSession, credential: dict[str, Any]) -> Passkey | None:
    """The registered passkey an answer claims to come from (not yet verified)."""
    try:
        raw_id = base64url_to_bytes(str(credential.get("rawId") or credential.get("id") or ""))
    except (ValueError, TypeError):
        return None
    if not raw_id:
        return None
    found: Passkey | None = await db.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
    return found


async def finish_login(
    db: AsyncSession,
    settings: Settings,
    challenge_id: int,
    credential: dict[str, Any],
    passkey: Passkey,
) -> Account:
    challenge = await _spend(db, challenge_id, LOGIN)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.public_host,
            expected_origin=settings.effective_public_url,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except WebAuthnException as exc:
        raise PasskeyRejected(f"the passkey answer did not verify: {exc}") from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    account = await db.get(Account, passkey.account_id)
    if account is None or account.disabled_at is not None:
        raise PasskeyRejected("this account is disabled")
    return account
