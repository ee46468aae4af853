"""CardService: issuing, reusing, reissuing and revoking union cards, checked with the
same crypto functions an offline verifier uses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.card import decode_card, verify_card
from crypto.ed25519 import SigningKey
from crypto.errors import CredentialError
from crypto.revocation import RevocationList, verify_revocation_list
from registry.actor import Actor
from registry.cards import SUPERSEDED, CardService
from registry.credentials import UNION_CARD, CredentialService
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import IssuedCredential, Member, MemberStatus, Organisation, OrgKind, Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from tests import factories as f

DAYS = 365


@pytest.fixture
def keyring(tmp_path: Path) -> RegistryKeyring:
    return RegistryKeyring.open(tmp_path / "keys", now=utcnow())


def now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


def as_member(m: Member) -> Actor:
    return Actor(
        account_id=None,
        display_name=m.full_name,
        roles=frozenset({Role.MEMBER}),
        member_id=m.id,
    )


REGISTRAR = Actor(account_id=None, display_name="Регистратор", roles=frozenset({Role.REGISTRAR}))


async def union_with_member(db: AsyncSession) -> tuple[Organisation, Member]:
    union = await f.org(db, "Пермская краевая организация профсоюза", short_name="Пермский крайком")
    primary = await f.org(db, "ППО завода", kind=OrgKind.PRIMARY, parent=union)
    m = await f.member(db, primary, "Кузнецова", name="Ольга", patronymic="Ивановна", card="59-7")
    m.joined_on = dt.date(2015, 5, 5)
    await db.flush()
    return union, m


async def crl(db: AsyncSession, keyring: RegistryKeyring, union: Organisation) -> RevocationList:
    signed = await CredentialService(db, REGISTRAR, keyring).revocation_list(union.id)
    return verify_revocation_list(signed, keyring.public_keys(), now=now())


async def current(
    service: CardService, m: Member, *, at: dt.datetime | None = None, key: int | None = None
) -> str:
    return await service.current_card(m.id, now=at or now(), valid_days=DAYS, key_serial=key)


async def test_issues_a_card_that_verifies(db: AsyncSession, keyring: RegistryKeyring) -> None:
    union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    issued = now()
    text = await current(service, m, at=issued)

    card = verify_card(
        text, keyring.public_keys(), now=now(), revocations=await crl(db, keyring, union)
    )
    assert card.full_name == "Кузнецова Ольга Ивановна"
    assert card.card_number == "59-7"
    assert card.organisation == "Пермский крайком"
    assert card.organisation_id == union.id
    assert card.joined_on == dt.date(2015, 5, 5)
    assert card.issued_at == issued
    assert card.expires_at == issued + dt.timedelta(days=DAYS)
    assert card.key_serial is None
    assert card.issuer == keyring.current_id
    row = await db.get(IssuedCredential, card.serial)
    assert row is not None
    assert (row.kind, row.member_id, row.document) == (UNION_CARD, m.id, text)


async def test_reuses_the_card_while_nothing_changed(
    db: AsyncSession, keyring: RegistryKeyring
) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    first = await current(service, m)
    assert await current(service, m, at=now() + dt.timedelta(days=100)) == first
    # The registrar asking gets the same card, not a second one.
    assert await current(CardService(db, REGISTRAR, keyring), m) == first
    assert len(await service.history(m.id)) == 1


async def test_reissues_and_revokes_when_personal_data_changed(
    db: AsyncSession, keyring: RegistryKeyring
) -> None:
    union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    old = await current(service, m)
    m.surname = "Смирнова"
    await db.flush()

    new = await current(service, m)
    assert new != old
    assert decode_card(new).card.full_name == "Смирнова Ольга Ивановна"
    old_row = await db.get(IssuedCredential, decode_card(old).card.serial)
    assert old_row is not None
    assert old_row.revoked_reason == SUPERSEDED
    revocations = await crl(db, keyring, union)
    with pytest.raises(CredentialError) as caught:
        verify_card(old, keyring.public_keys(), now=now(), revocations=revocations)
    assert caught.value.reason == "revoked"
    verify_card(new, keyring.public_keys(), now=now(), revocations=revocations)


@pytest.mark.parametrize("change", ["card_number", "joined_on", "union_name"])
async def test_each_personal_field_counts(
    db: AsyncSession, keyring: RegistryKeyring, change: str
) -> None:
    union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    old = await current(service, m)
    if change == "card_number":
        m.card_number = "59-8"
    elif change == "joined_on":
        m.joined_on = None
    else:
        union.short_name = "Крайком"
    await db.flush()
    assert await current(service, m) != old


async def test_a_new_device_key_reissues_without_revoking(
    db: AsyncSession, keyring: RegistryKeyring
) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    old = await current(service, m)
    new = await current(service, m, key=4242)
    assert decode_card(new).card.key_serial == 4242
    old_row = await db.get(IssuedCredential, decode_card(old).card.serial)
    assert old_row is not None
    assert old_row.revoked_at is None  # what it states is still true


async def test_an_expired_card_is_replaced(db: AsyncSession, keyring: RegistryKeyring) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    old = await current(service, m)
    later = now() + dt.timedelta(days=DAYS, seconds=1)
    new = await current(service, m, at=later)
    assert new != old
    assert decode_card(new).card.issued_at == later
    assert await service.valid_card(m.id, now=later) is not None


async def test_only_the_holder_or_the_registrar(db: AsyncSession, keyring: RegistryKeyring) -> None:
    union, m = await union_with_member(db)
    other = await f.member(db, union)
    with pytest.raises(PermissionDenied):
        await current(CardService(db, as_member(other), keyring), m)
    staff = Actor(account_id=None, display_name="Секретарь", roles=frozenset({Role.SECRETARY}))
    with pytest.raises(PermissionDenied):
        await current(CardService(db, staff, keyring), m)
    with pytest.raises(PermissionDenied):
        await CardService(db, as_member(other), keyring).history(m.id)
    assert await current(CardService(db, REGISTRAR, keyring), m)


async def test_unknown_member(db: AsyncSession, keyring: RegistryKeyring) -> None:
    with pytest.raises(NotFound):
        await CardService(db, REGISTRAR, keyring).current_card(
            999_999, now=now(), valid_days=DAYS, key_serial=None
        )


async def test_a_member_who_left_gets_no_card(db: AsyncSession, keyring: RegistryKeyring) -> None:
    _union, m = await union_with_member(db)
    m.status = MemberStatus.LEFT
    m.left_on = dt.date(2024, 1, 1)
    await db.flush()
    with pytest.raises(Conflict) as caught:
        await current(CardService(db, as_member(m), keyring), m)
    assert caught.value.code == "member_left"
    assert await CardService(db, REGISTRAR, keyring).history(m.id) == []


async def test_card_number_too_long_for_a_card(db: AsyncSession, keyring: RegistryKeyring) -> None:
    _union, m = await union_with_member(db)
    m.card_number = "7" * 40  # the registry allows 40, a card holds 32
    await db.flush()
    with pytest.raises(Conflict) as caught:
        await current(CardService(db, REGISTRAR, keyring), m)
    assert caught.value.code == "card_data_invalid"


async def test_revoked_card_fails_verification(db: AsyncSession, keyring: RegistryKeyring) -> None:
    union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    text = await current(service, m)
    serial = decode_card(text).card.serial
    row = await service.revoke_card(serial, "lost phone")
    assert row.revoked_reason == "lost phone"

    revocations = await crl(db, keyring, union)
    assert revocations.is_revoked(serial) is not None
    with pytest.raises(CredentialError) as caught:
        verify_card(text, keyring.public_keys(), now=now(), revocations=revocations)
    assert caught.value.reason == "revoked"
    with pytest.raises(CredentialError) as caught:
        await service.verify(text, now=now())
    assert caught.value.reason == "revoked"
    # The holder asking again gets a fresh card.
    fresh = await current(service, m)
    assert decode_card(fresh).card.serial != serial


async def test_revoke_current_and_revoke_only_cards(
    db: AsyncSession, keyring: RegistryKeyring
) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, REGISTRAR, keyring)
    with pytest.raises(Conflict) as caught:
        await service.revoke_current(m.id, "why", now=now())
    assert caught.value.code == "no_valid_card"
    text = await current(service, m)
    row = await service.revoke_current(m.id, "expelled", now=now())
    assert row.serial == decode_card(text).card.serial
    assert await service.valid_card(m.id, now=now()) is None

    account = await f.account(db, Role.MEMBER, member_obj=m)
    device, _certificate = await CredentialService(db, REGISTRAR, keyring).enrol_key(
        m, account.id, SigningKey.generate().public_key, label="phone", valid_days=30
    )
    with pytest.raises(NotFound):
        await service.revoke_card(device.serial, "not a card")


async def test_card_bound_to_a_revoked_key(db: AsyncSession, keyring: RegistryKeyring) -> None:
    union, m = await union_with_member(db)
    account = await f.account(db, Role.MEMBER, member_obj=m)
    credentials = CredentialService(db, as_member(m), keyring)
    device, _certificate = await credentials.enrol_key(
        m, account.id, SigningKey.generate().public_key, label="phone", valid_days=30
    )
    service = CardService(db, as_member(m), keyring)
    assert await service.bound_key_serial(m.id, now=now()) == device.serial
    # A certificate past its expiry no longer binds.
    assert await service.bound_key_serial(m.id, now=now() + dt.timedelta(days=31)) is None

    bound = await current(service, m, key=device.serial)
    assert decode_card(bound).card.key_serial == device.serial
    assert (await service.verify(bound, now=now())).card.key_serial == device.serial

    await credentials.revoke(device.serial, "phone stolen")
    with pytest.raises(CredentialError) as caught:
        verify_card(
            bound, keyring.public_keys(), now=now(), revocations=await crl(db, keyring, union)
        )
    assert caught.value.reason == "key_revoked"
    assert await service.bound_key_serial(m.id, now=now()) is None
    unbound = await current(service, m, key=None)
    assert decode_card(unbound).card.key_serial is None
    await service.verify(unbound, now=now())


async def test_verify_reports_tampering_and_foreign_keys(
    db: AsyncSession, keyring: RegistryKeyring, tmp_path: Path
) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, as_member(m), keyring)
    text = await current(service, m)
    check = await service.verify(text, now=now())
    assert check.card.card_number == "59-7"
    assert check.revocations.number >= 1

    prefix, payload, signature = text.split(".")
    middle = len(signature) // 2
    flipped = "B" if signature[middle] == "A" else "A"
    tampered = f"{prefix}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    with pytest.raises(CredentialError) as caught:
        await service.verify(tampered, now=now())
    assert caught.value.reason == "bad_signature"

    stranger = RegistryKeyring.open(tmp_path / "other-keys", now=utcnow())
    with pytest.raises(CredentialError) as caught:
        await CardService(db, as_member(m), stranger).verify(text, now=now())
    assert caught.value.reason == "unknown_signer"

    with pytest.raises(CredentialError) as caught:
        await service.verify(text, now=now() + dt.timedelta(days=DAYS + 1))
    assert caught.value.reason == "expired"


async def test_history_newest_first(db: AsyncSession, keyring: RegistryKeyring) -> None:
    _union, m = await union_with_member(db)
    service = CardService(db, REGISTRAR, keyring)
    await current(service, m)
    await current(service, m, key=1)
    serials = [row.serial for row in await service.history(m.id)]
    assert serials == sorted(serials, reverse=True)
    assert len(serials) == 2
    kinds = (await db.scalars(select(IssuedCredential.kind))).all()
    assert set(kinds) == {UNION_CARD}
