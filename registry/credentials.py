"""What the registry key signs for members, under one serial space: device key
certificates and union cards; revoking either, and the signed revocation list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.certificate import KeyCertificate, issue_certificate
from crypto.ed25519 import PublicKey
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_instant
from crypto.revocation import Revocation, RevocationList, issue_revocation_list
from registry.actor import Actor
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import (
    DeviceKey,
    IssuedCredential,
    Member,
    Organisation,
    RevocationListRecord,
    Role,
)
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = [
    "KEY_CERTIFICATE",
    "UNION_CARD",
    "CredentialService",
    "KeyRefused",
    "own_key_certificate",
]

KEY_CERTIFICATE = "key-certificate"
UNION_CARD = "union-card"

# Builds the signed text of a credential once its serial and issue time are known;
# returns (document, expires_at).
Builder = Callable[[int, dt.datetime], tuple[str, dt.datetime]]


def _second(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(microsecond=0)


class KeyRefused(Exception):
    """A statement's signing key that does not count: ``reason`` is the refusal's code
    (``unknown_key``, ``revoked``, ``not_yet_valid``, ``expired``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def own_key_certificate(
    session: AsyncSession, serial: int, member_id: int, now: dt.datetime
) -> KeyCertificate:
    """The certificate of one of ``member_id``'s signing keys, unrevoked and valid at
    ``now``, read from the registry's own table of what it signed (its signature is not
    checked again). :class:`KeyRefused` otherwise: a statement counts only from its
    maker's own key."""
    row = (
        await session.execute(
            select(DeviceKey, IssuedCredential)
            .join(IssuedCredential, IssuedCredential.serial == DeviceKey.serial)
            .where(DeviceKey.serial == serial, IssuedCredential.kind == KEY_CERTIFICATE)
        )
    ).first()
    if row is None or row[0].member_id != member_id or row[1].member_id != member_id:
        raise KeyRefused("unknown_key", f"key {serial} is not one of your signing keys")
    credential = row[1]
    if credential.revoked_at is not None:
        revoked = format_instant(_second(credential.revoked_at))
        raise KeyRefused("revoked", f"key {serial} was revoked at {revoked}")
    if now < credential.issued_at:
        raise KeyRefused("not_yet_valid", f"key {serial} is not valid yet")
    if now >= credential.expires_at:
        raise KeyRefused("expired", f"key {serial} has expired")
    try:
        return KeyCertificate.from_payload(
            SignedDocument.parse(credential.document.encode()).payload
        )
    except CredentialError as exc:
        raise KeyRefused("unknown_key", f"key {serial}: {exc}") from None


class CredentialService:
    def __init__(self, session: AsyncSession, actor: Actor, keyring: RegistryKeyring) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring

    async def issue(
        self, kind: str, member: Member, build: Builder, *, now: dt.datetime | None = None
    ) -> IssuedCredential:
        """Allocate the next serial, sign the credential ``build`` makes, and store it."""
        issued_at = _second(now or utcnow())
        row = IssuedCredential(
            kind=kind,
            member_id=member.id,
            organisation_id=member.root_organisation_id,
            issuer=self.keyring.current_id,
            issued_at=issued_at,
            expires_at=issued_at,
            document="",
        )
        self.session.add(row)
        await self.session.flush()  # the serial is the primary key: known from here
        row.document, row.expires_at = build(row.serial, issued_at)
        await self.session.flush()
        return row

    async def enrol_key(
        self,
        member: Member,
        account_id: int,
        public_key: PublicKey,
        *,
        label: str,
        valid_days: int,
    ) -> tuple[DeviceKey, SignedDocument]:
        """Certify a device's public key for ``member`` (possession already proven)."""
        clash = await self.session.scalar(
            select(DeviceKey.id).where(DeviceKey.public_key == public_key.b64u)
        )
        if clash is not None:
            raise Conflict("this public key is already certified", fields={"public_key": "taken"})
        org = await self.session.get(Organisation, member.root_organisation_id)
        assert org is not None
        signed: list[SignedDocument] = []

        def build(serial: int, issued_at: dt.datetime) -> tuple[str, dt.datetime]:
            expires_at = issued_at + dt.timedelta(days=valid_days)
            certificate = KeyCertificate(
                serial=serial,
                member_id=member.id,
                organisation_id=org.id,
                organisation=org.short_name or org.name,
                public_key=public_key,
                issued_at=issued_at,
                expires_at=expires_at,
                issuer=self.keyring.current_id,
            )
            document = issue_certificate(certificate, self.keyring.current)
            signed.append(document)
            return json.dumps(document.to_json(), ensure_ascii=False), expires_at

        row = await self.issue(KEY_CERTIFICATE, member, build)
        device = DeviceKey(
            member_id=member.id,
            account_id=account_id,
            serial=row.serial,
            public_key=public_key.b64u,
            label=label[:200],
        )
        self.session.add(device)
        await self.session.flush()
        return device, signed[0]

    async def device_keys(self, member_id: int) -> list[DeviceKey]:
        rows = await self.session.scalars(
            select(DeviceKey).where(DeviceKey.member_id == member_id).order_by(DeviceKey.id)
        )
        return list(rows.all())

    async def revoke(self, serial: int, reason: str) -> IssuedCredential:
        """Revoke a credential (the member's own, or any for the registrar) and publish a
        new revocation list in the same transaction."""
        row = await self.session.get(IssuedCredential, serial)
        if row is None:
            raise NotFound(f"credential {serial} does not exist")
        if not self.actor.has(Role.REGISTRAR) and row.member_id != self.actor.member_id:
            raise PermissionDenied("only the holder or the registrar may revoke it")
        if row.revoked_at is not None:
            raise Conflict(f"credential {serial} is already revoked")
        row.revoked_at = _second(utcnow())
        row.revoked_reason = (reason or "revoked").strip()[:200]
        row.revoked_by = self.actor.display_name
        await self.session.flush()
        await self._publish(row.organisation_id)
        return row

    async def revocation_list(self, organisation_id: int) -> SignedDocument:
        """The latest signed revocation list of the union (the first one made on demand)."""
        latest = await self.session.scalar(
            select(RevocationListRecord)
            .where(RevocationListRecord.organisation_id == organisation_id)
            .order_by(RevocationListRecord.number.desc())
            .limit(1)
        )
        revoked = await self.session.scalar(
            select(func.count())
            .select_from(IssuedCredential)
            .where(
                IssuedCredential.organisation_id == organisation_id,
                IssuedCredential.revoked_at.is_not(None),
            )
        )
        if latest is not None:
            document = SignedDocument.parse(latest.document.encode())
            entries = document.payload.get("entries")
            # Revocations made without the key at hand (a member retired) are published
            # with the next request for the list.
            if isinstance(entries, (list, tuple)) and len(entries) == revoked:
                return document
        return await self._publish(organisation_id)

    async def publish_revocation_list(self, organisation_id: int) -> SignedDocument:
        """Sign a fresh list now (a vote's close needs one dated after it)."""
        return await self._publish(organisation_id)

    async def _publish(self, organisation_id: int) -> SignedDocument:
        # Two revocations committing at once would both number their list N + 1: the
        # union's row is locked first (PostgreSQL; SQLite's writers are serial already),
        # without blocking inserts that merely reference it (FOR NO KEY UPDATE).
        await self.session.execute(
            select(Organisation.id)
            .where(Organisation.id == organisation_id)
            .with_for_update(key_share=True)
        )
        number = (
            await self.session.scalar(
                select(func.max(RevocationListRecord.number)).where(
                    RevocationListRecord.organisation_id == organisation_id
                )
            )
            or 0
        ) + 1
        revoked = (
            await self.session.scalars(
                select(IssuedCredential)
                .where(
                    IssuedCredential.organisation_id == organisation_id,
                    IssuedCredential.revoked_at.is_not(None),
                )
                .order_by(IssuedCredential.serial)
            )
        ).all()
        issued_at = _second(utcnow())
        crl = RevocationList(
            organisation_id=organisation_id,
            number=number,
            issued_at=issued_at,
            issuer=self.keyring.current_id,
            entries=tuple(
                Revocation(serial=r.serial, revoked_at=r.revoked_at, reason=r.revoked_reason)
                for r in revoked
                if r.revoked_at is not None
            ),
        )
        document = issue_revocation_list(crl, self.keyring.current)
        self.session.add(
            RevocationListRecord(
                number=number,
                organisation_id=organisation_id,
                issued_at=issued_at,
                document=json.dumps(document.to_json(), ensure_ascii=False),
            )
        )
        await self.session.flush()
        return document
