"""Runtime settings, read from the environment and overridable by CLI flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Settings"]

_ENV_PREFIX = "KVORUM_"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the application needs to start.

    Each field can be set from the environment as ``KVORUM_<FIELD>`` (upper case),
    e.g. ``KVORUM_DATABASE_URL``; CLI flags override the environment.
    """

    data_dir: Path = Path("var")
    database_url: str = ""  # empty: an SQLite file under data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    # Public origin used for links in e-mails and printed logins, and for the Origin check.
    public_url: str = ""
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    max_json_body: int = 1 * 1024 * 1024
    max_upload_body: int = 32 * 1024 * 1024
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    invitation_hours: int = 72
    code_minutes: int = 10
    # Failed logins allowed within the window, per account and per client address.
    login_window_minutes: int = 15
    login_max_per_account: int = 5
    login_max_per_address: int = 20
    # Anonymous requests that store something or send mail (a passkey login's challenge,
    # a login code): per client address, a burst and then so many a minute; and open
    # passkey-login challenges at most, whoever asked.
    anonymous_burst: int = 10
    anonymous_per_minute: float = 10.0
    max_open_logins: int = 1000
    # A signing key may be enrolled only this soon after a passkey or invitation login.
    enrolment_fresh_minutes: int = 10
    certificate_days: int = 730
    card_days: int = 365
    # Outgoing mail; without a host, mail is written to the log (the demo).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "kvorum@localhost"
    smtp_starttls: bool = True
    # A member whose last connection to a meeting dropped still counts as present for
    # this long (a weak connection reconnecting is not a departure).
    presence_grace_seconds: float = 10.0
    # How often votes past their deadline are looked for and closed.
    vote_sweep_seconds: float = 5.0
    # Worker processes checking secret ballots' proofs before the board's lock (0: a
    # thread pool in the server's process instead).
    secret_proof_workers: int = 2
    # Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated);
    # from anyone else the header is ignored, so a client cannot pick its own address.
    trusted_proxies: str = ""
    migrate_on_start: bool = True
    # The organisation's zone: every time a page, a notice or an e-mail shows is in it.
    timezone: str = "Asia/Yekaterinburg"
    # Video: the STUN and TURN servers handed to browsers (comma-separated URLs, e.g.
    # "stun:turn.example.org:3478" and "turn:turn.example.org:3478?transport=udp,
    # turns:turn.example.org:5349"). TURN credentials are made for each participant from
    # the secret shared with coturn (its use-auth-secret / static-auth-secret) and last
    # turn_ttl_seconds.
    stun_urls: str = ""
    turn_urls: str = ""
    turn_secret: str = ""
    turn_ttl_seconds: int = 6 * 3600

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be within 1..65535, got {self.port}")
        if self.log_format not in {"json", "text"}:
            raise ValueError(f"log_format must be 'json' or 'text', got {self.log_format!r}")
        if not 0 <= self.presence_grace_seconds <= 3600:
            raise ValueError(
                f"presence_grace_seconds must be within 0..3600, got {self.presence_grace_seconds}"
            )
        if not 0.05 <= self.vote_sweep_seconds <= 3600:
            raise ValueError(
                f"vote_sweep_seconds must be within 0.05..3600, got {self.vote_sweep_seconds}"
            )
        if not 0 <= self.secret_proof_workers <= 64:
            raise ValueError(
                f"secret_proof_workers must be within 0..64, got {self.secret_proof_workers}"
            )
        if self.turn_urls and not self.turn_secret:
            raise ValueError("turn_urls needs turn_secret (coturn's static-auth-secret)")
        if not 60 <= self.turn_ttl_seconds <= 7 * 24 * 3600:
            raise ValueError(
                f"turn_ttl_seconds must be within 60..604800, got {self.turn_ttl_seconds}"
            )
        for url in _urls(self.stun_urls) + _urls(self.turn_urls):
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"not a STUN or TURN URL: {url!r}")
        if self.anonymous_burst < 1 or self.anonymous_per_minute <= 0 or self.max_open_logins < 1:
            raise ValueError(
                "anonymous_burst, anonymous_per_minute and max_open_logins must be positive"
            )
        if self.max_json_body <= 0 or self.max_upload_body < self.max_json_body:
            raise ValueError("max_upload_body must be at least max_json_body, both positive")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kvorum.sqlite3').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where users reach the server. By default ``http://localhost:PORT``: WebAuthn
        needs a host name, not an IP address, and browsers treat localhost as secure."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in _LOOPBACK else self.host
        return f"http://{host}:{self.port}"

    @property
    def proxies(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def public_host(self) -> str:
        """The host name of the public URL: the WebAuthn relying party id."""
        return urlsplit(self.effective_public_url).hostname or "localhost"

    def check_transport(self) -> None:
        """Plain http is for a server on this machine only; anything else needs https."""
        if not self.effective_public_url.startswith("https://") and (
            self.public_host not in _LOOPBACK
        ):
            raise ValueError(
                f"public URL {self.effective_public_url} is plain http on a host other than "
                "localhost: serve Kvorum over https and set KVORUM_PUBLIC_URL to that URL"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``KVORUM_*`` variables, then apply non-None overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(_ENV_PREFIX + field.name.upper())
            if raw is None:
                continue
            try:
                values[field.name] = _convert(field.type, raw)
            except ValueError as exc:
                raise ValueError(f"{_ENV_PREFIX}{field.name.upper()}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _urls(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def _convert(annotation: object, raw: str) -> object:
    if annotation in ("int", int):
        return int(raw)
    if annotation in ("float", float):
        return float(raw)
    if annotation in ("bool", bool):
        return _bool(raw)
    if annotation in ("Path", Path):
        return Path(raw)
    return raw
