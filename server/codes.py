"""One-time login codes by e-mail: the fallback for a device without a passkey.

Six digits, single use, valid ten minutes, at most five guesses each; the address
is never confirmed or denied to the asker (no account enumeration).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import NotAuthenticated
from registry.models import Account, OneTimeCode
from registry.orm import utcnow
from server.auth import digest
from server.mailer import Letter
from server.settings import Settings

__all__ = ["CodeRejected", "account_for_email", "issue_code", "redeem_code"]

MAX_GUESSES = 5


class CodeRejected(NotAuthenticated):
    code = "code_rejected"


def _hash(account_id: int, code: str) -> bytes:
    # Bound to the account: the same six digits for two people hash differently.
    return digest(f"{account_id}:{code}")


async def account_for_email(db: AsyncSession, email: str) -> Account | None:
    email = email.strip().lower()
    if not email:
        return None
    found: Account | None = await db.scalar(
        select(Account).where(func.lower(Account.email) == email, Account.disabled_at.is_(None))
    )
    return found


async def issue_code(db: AsyncSession, settings: Settings, account: Account) -> Letter:
    """A fresh code and its letter (to send once this transaction has committed); any
    earlier unused code of the account stops working."""
    await db.execute(
        update(OneTimeCode)
        .where(OneTimeCode.account_id == account.id, OneTimeCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    code = f"{secrets.randbelow(10**6):06d}"
    db.add(
        OneTimeCode(
            account_id=account.id,
            code_hash=_hash(account.id, code),
            expires_at=utcnow() + dt.timedelta(minutes=settings.code_minutes),
        )
    )
    await db.flush()
    return Letter(
        account.email,
        f"Код входа в Кворум: {code}",
        f"Ваш код для входа в Кворум: {code}\n\nКод одноразовый и действует "
        f"{settings.code_minutes} минут. Никому его не сообщайте.\n",
    )


async def redeem_code(db: AsyncSession, account: Account, code: str) -> None:
    """Accept the account's current code once; count a wrong guess against it."""
    row = await db.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.account_id == account.id, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc())
        .with_for_update()
    )
    now = utcnow()
    if row is None or row.expires_at <= now or row.attempts >= MAX_GUESSES:
        raise CodeRejected("no valid code: request a new one")
    code = code.strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or not hmac.compare_digest(
        row.code_hash, _hash(account.id, code)
    ):
        raise CodeRejected("the code is wrong")
    row.used_at = now


async def count_guess(db: AsyncSession, account_id: int) -> None:
    """A wrong guess uses up one of the code's attempts (committed apart from the refusal)."""
    await db.execute(
        update(OneTimeCode)
        .where(OneTimeCode.account_id == account_id, OneTimeCode.used_at.is_(None))
        .values(attempts=OneTimeCode.attempts + 1)
    )
