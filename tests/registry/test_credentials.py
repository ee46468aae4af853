"""Certificates, revocation and the revocation list, on a real database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.certificate import verify_certificate
from crypto.ed25519 import SigningKey
from crypto.errors import CredentialError
from crypto.revocation import verify_revocation_list
from registry.actor import Actor
from registry.credentials import CredentialService
from registry.errors import Conflict, PermissionDenied
from registry.members import MemberService
from registry.models import Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from tests import factories as f


@pytest.fixture
def keyring(tmp_path: Path) -> RegistryKeyring:
    return RegistryKeyring.open(tmp_path / "keys", now=utcnow())


def now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


async def test_enrol_revoke_and_list(db: AsyncSession, keyring: RegistryKeyring) -> None:
    root = await f.org(db)
    member = await f.member(db, root)
    account = await f.account(db, Role.MEMBER, member_obj=member)
    holder = Actor(account.id, member.full_name, frozenset({Role.MEMBER}), member.id)
    service = CredentialService(db, holder, keyring)
    key = SigningKey.from_seed(bytes(range(32))).public_key
    device, document = await service.enrol_key(
        member, account.id, key, label="phone", valid_days=30
    )
    certificate = verify_certificate(document, keyring.public_keys(), now=now(), revocations=None)
    assert certificate.serial == device.serial
    assert certificate.member_id == member.id

    with pytest.raises(Conflict, match="already certified"):
        await service.enrol_key(member, account.id, key, label="again", valid_days=30)

    stranger = Actor(2, "Чужой", frozenset({Role.MEMBER}), member.id + 1000)
    with pytest.raises(PermissionDenied):
        await CredentialService(db, stranger, keyring).revoke(device.serial, "no")

    first = verify_revocation_list(
        await service.revocation_list(root.id), keyring.public_keys(), now=now()
    )
    assert first.entries == ()
    await service.revoke(device.serial, "lost phone")
    second = verify_revocation_list(
        await service.revocation_list(root.id), keyring.public_keys(), now=now()
    )
    assert second.number == first.number + 1
    revoked = second.is_revoked(device.serial)
    assert revoked is not None
    assert revoked.reason == "lost phone"
    with pytest.raises(CredentialError) as caught:
        verify_certificate(document, keyring.public_keys(), now=now(), revocations=second)
    assert caught.value.reason == "revoked"


async def test_a_member_who_leaves_is_on_the_next_list(
    db: AsyncSession, keyring: RegistryKeyring
) -> None:
    root = await f.org(db)
    member = await f.member(db, root)
    account = await f.account(db, Role.MEMBER, member_obj=member)
    service = CredentialService(db, f.SYSTEM, keyring)
    key = SigningKey.from_seed(bytes(32 * [7])).public_key
    device, _doc = await service.enrol_key(member, account.id, key, label="laptop", valid_days=30)
    before = verify_revocation_list(
        await service.revocation_list(root.id), keyring.public_keys(), now=now()
    )
    await MemberService(db, f.SYSTEM).retire(member.id)
    after = verify_revocation_list(
        await service.revocation_list(root.id), keyring.public_keys(), now=now()
    )
    assert after.number == before.number + 1
    entry = after.is_revoked(device.serial)
    assert entry is not None
    assert entry.reason == "member left"


def test_keyring_refuses_a_readable_key(tmp_path: Path) -> None:
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    path = next((tmp_path / "keys").glob("registry-*.key"))
    path.chmod(0o644)
    with pytest.raises(Exception, match="readable by other users"):
        RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    path.chmod(0o600)
    again = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    assert again.current_id == keyring.current_id
    old = again.current_id
    new = again.rotate()
    assert new != old
    assert set(again.public_keys()) == {old, new}
    assert RegistryKeyring.trusted_from_document(again.document(1, "Союз")).keys() == {old, new}
