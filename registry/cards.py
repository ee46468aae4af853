"""Electronic union cards: issuing, reusing, revoking and checking them.

A member has at most one card they are shown: the newest union card that is
neither expired nor revoked. It is reused as long as it still states the member's
current data; otherwise a new one is signed (:mod:`crypto.card` holds the format).

* When the personal data on the card changed (full name, card number, the union's
  short name, the date of joining) the old card is *revoked* as ``superseded``: it
  now states something that is no longer true, and a paper copy must stop
  verifying.
* When only the bound device key changed (a key was added or revoked) the old card
  is left alone: what it states is still true, and a card bound to a revoked key
  already fails with ``key_revoked``.

Cards are issued lazily, when the holder or the registrar asks for one. Two
requests racing on PostgreSQL may both issue a card; both are valid and the newer
one is shown from then on, which is harmless.

Card serials come from the same sequence as key-certificate serials
(:class:`~registry.credentials.CredentialService`), so one revocation list covers
both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.card import (
    MAX_FULL_NAME_LENGTH,
    MAX_ORGANISATION_LENGTH,
    UnionCard,
    decode_card,
    encode_card,
    verify_card,
)
from crypto.errors import CredentialError
from crypto.instant import parse_instant
from crypto.revocation import RevocationList, verify_revocation_list
from registry.actor import Actor
from registry.credentials import UNION_CARD, CredentialService
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import (
    DeviceKey,
    IssuedCredential,
    Member,
    MemberStatus,
    Organisation,
    Role,
)
from registry.registrykey import RegistryKeyring

__all__ = ["SUPERSEDED", "CardCheck", "CardService", "card_holder_name", "organisation_label"]

#: The revocation reason of a card replaced because the member's data changed.
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class CardCheck:
    """A card that verified, and the revocation list it was checked against."""

    card: UnionCard
    revocations: RevocationList


def organisation_label(organisation: Organisation) -> str:
    """The union's name as printed on a card: its short name, else its name, cut to fit."""
    return (organisation.short_name or organisation.name).strip()[:MAX_ORGANISATION_LENGTH].strip()


def card_holder_name(member: Member) -> str:
    """The member's full name as printed on a card."""
    return member.full_name.strip()[:MAX_FULL_NAME_LENGTH].strip()


def _second(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(microsecond=0)


class CardService:
    """Union cards of members, on behalf of ``actor``, signed with ``keyring``'s current key."""

    def __init__(self, session: AsyncSession, actor: Actor, keyring: RegistryKeyring) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring
        self.credentials = CredentialService(session, actor, keyring)

    # --- the holder's card ------------------------------------------------------------------

    async def current_card(
        self, member_id: int, *, now: dt.datetime, valid_days: int, key_serial: int | None
    ) -> str:
        """The member's valid card text, issuing a new card when needed.

        ``key_serial`` is the serial of the device key certificate the card is bound
        to (see :meth:`bound_key_serial`), or ``None``. Only the member themself or
        the registrar may ask (``PermissionDenied``); a member who has left the union
        gets no card (``Conflict``).
        """
        if valid_days < 1:
            raise ValueError(f"valid_days must be at least 1, got {valid_days}")
        now = _second(now)
        member = await self._member(member_id)
        if member.status == MemberStatus.LEFT:
            raise Conflict(
                f"member {member_id} has left the union and holds no union card",
                code="member_left",
            )
        union = await self.session.get(Organisation, member.root_organisation_id)
        assert union is not None  # a foreign key
        wanted = _CardData.of(member, union, key_serial)
        row = await self.valid_card(member_id, now=now)
        if row is not None:
            held = _card_of(row)
            if held is not None and _CardData.of_card(held) == wanted:
                return row.document
            if held is None or _CardData.of_card(held).personal != wanted.personal:
                await self.credentials.revoke(row.serial, SUPERSEDED)
        return (await self._issue(member, union, wanted, now=now, valid_days=valid_days)).document

    async def bound_key_serial(self, member_id: int, *, now: dt.datetime) -> int | None:
        """The serial of the member's newest device key certificate that is neither
        revoked nor expired at ``now``: the key a new card is bound to."""
        serial: int | None = await self.session.scalar(
            select(DeviceKey.serial)
            .join(IssuedCredential, IssuedCredential.serial == DeviceKey.serial)
            .where(
                DeviceKey.member_id == member_id,
                IssuedCredential.revoked_at.is_(None),
                IssuedCredential.expires_at > _second(now),
            )
            .order_by(DeviceKey.serial.desc())
            .limit(1)
        )
        return serial

    async def valid_card(self, member_id: int, *, now: dt.datetime) -> IssuedCredential | None:
        """The member's newest card that is neither revoked nor expired, without issuing."""
        await self._member(member_id)
        row: IssuedCredential | None = await self.session.scalar(
            select(IssuedCredential)
            .where(
                IssuedCredential.kind == UNION_CARD,
                IssuedCredential.member_id == member_id,
                IssuedCredential.revoked_at.is_(None),
                IssuedCredential.expires_at > _second(now),
            )
            .order_by(IssuedCredential.serial.desc())
            .limit(1)
        )
        return row

    async def history(self, member_id: int) -> list[IssuedCredential]:
        """Every card issued to the member, newest first."""
        await self._member(member_id)
        rows = await self.session.scalars(
            select(IssuedCredential)
            .where(IssuedCredential.kind == UNION_CARD, IssuedCredential.member_id == member_id)
            .order_by(IssuedCredential.serial.desc())
        )
        return list(rows.all())

    # --- revoking ---------------------------------------------------------------------------

    async def revoke_card(self, serial: int, reason: str) -> IssuedCredential:
        """Revoke a union card (its holder or the registrar) and publish a new list."""
        row = await self.session.get(IssuedCredential, serial)
        if row is None or row.kind != UNION_CARD:
            raise NotFound(f"union card {serial} does not exist")
        return await self.credentials.revoke(serial, reason)

    async def revoke_current(
        self, member_id: int, reason: str, *, now: dt.datetime
    ) -> IssuedCredential:
        """Revoke the member's valid card (``Conflict`` if they have none)."""
        self._require_holder_or_registrar(member_id)
        row = await self.valid_card(member_id, now=now)
        if row is None:
            raise Conflict(f"member {member_id} has no valid union card", code="no_valid_card")
        return await self.revoke_card(row.serial, reason)

    # --- checking ---------------------------------------------------------------------------

    async def verify(self, text: str, *, now: dt.datetime) -> CardCheck:
        """Check a card text at ``now`` against this registry's public keys and the
        newest revocation list of the card's union, exactly as an offline verifier
        does with ``keys.json`` and ``revocations.json``.

        Raises :class:`~crypto.errors.CredentialError`; the reason
        ``unknown_organisation`` means the card is signed by this registry for a
        union it no longer holds.
        """
        now = _second(now)
        keys = self.keyring.public_keys()
        # First without the list: the signature, type and validity period, in
        # verify_card's order, before anything of the payload is trusted.
        card = verify_card(text, keys, now=now, revocations=None)
        if await self.session.get(Organisation, card.organisation_id) is None:
            raise CredentialError(
                "unknown_organisation",
                f"union card {card.card_number} names organisation {card.organisation_id}, "
                "which this registry does not hold",
            )
        signed = await self.credentials.revocation_list(card.organisation_id)
        # A list made just now for this request may carry the next second: the check is
        # then made at that second, never before the list it uses.
        issued = signed.payload.get("issued_at")
        if isinstance(issued, str):
            now = max(now, parse_instant(issued))
        revocations = verify_revocation_list(signed, keys, now=now)
        return CardCheck(verify_card(text, keys, now=now, revocations=revocations), revocations)

    # --- internals --------------------------------------------------------------------------

    def _require_holder_or_registrar(self, member_id: int) -> None:
        if self.actor.member_id != member_id and not self.actor.has(Role.REGISTRAR):
            raise PermissionDenied("only the member themself or the registrar may do this")

    async def _member(self, member_id: int) -> Member:
        self._require_holder_or_registrar(member_id)
        member = await self.session.get(Member, member_id)
        if member is None:
            raise NotFound(f"member {member_id} does not exist")
        return member

    async def _issue(
        self,
        member: Member,
        union: Organisation,
        data: _CardData,
        *,
        now: dt.datetime,
        valid_days: int,
    ) -> IssuedCredential:
        key = self.keyring.current

        def build(serial: int, issued_at: dt.datetime) -> tuple[str, dt.datetime]:
            expires_at = issued_at + dt.timedelta(days=valid_days)
            card = UnionCard(
                serial=serial,
                organisation_id=union.id,
                organisation=data.organisation,
                card_number=data.card_number,
                full_name=data.full_name,
                joined_on=data.joined_on,
                issued_at=issued_at,
                expires_at=expires_at,
                key_serial=data.key_serial,
                issuer=self.keyring.current_id,
            )
            return encode_card(card, key), expires_at

        try:
            return await self.credentials.issue(UNION_CARD, member, build, now=now)
        except CredentialError as exc:
            # The registry allows longer card numbers (40) than a card holds (32).
            raise Conflict(
                f"the member's data does not fit on a union card: {exc}",
                code="card_data_invalid",
            ) from exc


@dataclass(frozen=True)
class _CardData:
    """What a card states about its holder: compared to decide whether to reissue."""

    organisation_id: int
    organisation: str
    card_number: str
    full_name: str
    joined_on: dt.date | None
    key_serial: int | None

    @property
    def personal(self) -> tuple[object, ...]:
        """Everything but the bound key: a change here makes the old card untrue."""
        return (
            self.organisation_id,
            self.organisation,
            self.card_number,
            self.full_name,
            self.joined_on,
        )

    @classmethod
    def of(cls, member: Member, union: Organisation, key_serial: int | None) -> _CardData:
        return cls(
            organisation_id=union.id,
            organisation=organisation_label(union),
            card_number=member.card_number,
            full_name=card_holder_name(member),
            joined_on=member.joined_on,
            key_serial=key_serial,
        )

    @classmethod
    def of_card(cls, card: UnionCard) -> _CardData:
        return cls(
            organisation_id=card.organisation_id,
            organisation=card.organisation,
            card_number=card.card_number,
            full_name=card.full_name,
            joined_on=card.joined_on,
            key_serial=card.key_serial,
        )


def _card_of(row: IssuedCredential) -> UnionCard | None:
    """The card a stored row holds, or ``None`` if it does not read (then it is replaced)."""
    try:
        return decode_card(row.document).card
    except CredentialError:
        return None
