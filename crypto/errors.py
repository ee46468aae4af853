"""The one exception family of :mod:`crypto`: :class:`CredentialError`.

Every failure to accept input (a malformed encoding, a non-canonical document, a
bad signature, an expired certificate) is a :class:`CredentialError` carrying a
stable machine-readable :attr:`~CredentialError.reason` and an English message
that says precisely what is wrong. Callers map ``reason`` to HTTP errors and UI
text; the message is for logs and auditors and may change wording.

Reason codes used by this package:

``malformed``            a credential or document is not well-formed
``wrong_type``           a signed document's ``type`` is not the one expected
``unsupported_version``  a signed document's ``v`` is not a version we read
``unknown_signer``       the signing key is not among the trusted keys
``bad_signature``        the Ed25519 signature does not verify
``issuer_mismatch``      the payload's ``issuer`` is not the key that signed it
``not_yet_valid``        ``now`` is before the credential's start of validity
``expired``              ``now`` is at or after the credential's end of validity
``revoked``              the credential's serial is on the revocation list
``key_revoked``          the device key a union card is bound to is revoked
``bad_base64``           base64url text is not strict unpadded base64url
``bad_instant``          a timestamp or date is not in the strict format
``bad_content_address``  a content address is not ``sha256:`` + 64 hex digits
``bad_public_key``       bytes are not a valid Ed25519 public key

:class:`crypto.canonical.CanonicalJSONError` adds the canonical-JSON reasons
listed in :mod:`crypto.canonical`.

Not guaranteed: messages may quote (truncated) parts of the rejected input, so
they must not be shown to other users verbatim if the input was confidential.
"""

from __future__ import annotations

__all__ = ["CredentialError", "SecretBallotError"]


class CredentialError(ValueError):
    """Input was rejected; :attr:`reason` is a stable code, ``str(error)`` the why."""

    reason: str

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {str(self)!r})"


class SecretBallotError(CredentialError):
    """A secret-ballot check failed: :attr:`check` is its id (``S-1`` …) in
    ``docs/secret-ballots.md``, :attr:`reason` its stable code, and :attr:`trustee`
    the commission member (1-based index) it concerns, when there is one."""

    check: str
    trustee: int | None

    def __init__(
        self, check: str, reason: str, message: str, *, trustee: int | None = None
    ) -> None:
        super().__init__(reason, f"{check} {reason}: {message}")
        self.check = check
        self.trustee = trustee

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.check!r}, {self.reason!r}, {str(self)!r})"
