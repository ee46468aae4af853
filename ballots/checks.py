"""The numbered checks of an audit bundle: the ids ``docs/ballots.md`` ("Verifying a
bundle") gives them, and the reason code each prints when it fails.

Every failure the verifier reports names one of these ids, and only these: a test
reads the list in ``docs/ballots.md`` and compares it with this table both ways, and
runs a published test vector (``tests/ballots/vectors/``) for each id.

Ids come in blocks of ten by part of the bundle, and are never renumbered or
reused: a later version adds its checks in a block of its own (secret ballots take
V-200 to V-299) and an id whose check is dropped stays retired.

Pure: no import beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKS", "Check"]


@dataclass(frozen=True)
class Check:
    """One check: its id, the reason code printed when it fails, what it compares."""

    id: str
    reason: str
    what: str


_TABLE = (
    # The bundle as a file.
    ("V-1", "not_json", "the bytes are UTF-8 JSON without duplicate names"),
    ("V-2", "unknown_version", "a kvorum.audit-bundle of a version the verifier knows"),
    ("V-3", "malformed", "the bundle and each vote have exactly their fields"),
    ("V-4", "not_canonical", "the file is the canonical encoding of what it holds"),
    # The registry keys.
    ("V-10", "bad_key", "each registry key is a valid key filed under its id"),
    ("V-11", "unused_key", "each registry key signs something in the bundle"),
    ("V-12", "untrusted_key", "with --keys, each registry key is a trusted one"),
    # Every registry-signed part.
    ("V-20", "wrong_document", "an envelope of the part's type and version"),
    ("V-21", "bad_signature", "signed by a bundle key that is its issuer"),
    # The definition.
    ("V-30", "bad_definition", "the definition keeps every rule of its format"),
    ("V-31", "vote_order", "votes in ascending order of id, none twice"),
    # The revocation list.
    ("V-40", "bad_revocation_list", "the list is of the union and keeps its format"),
    ("V-41", "stale_revocation_list", "the list was issued at or after the close"),
    # The certificates.
    ("V-50", "bad_certificate", "a valid key certificate of the union"),
    ("V-51", "certificate_order", "certificates by serial, ascending, no repeats"),
    ("V-52", "shared_key", "no key certified for two members"),
    ("V-53", "roll_certificate", "each serial of the roll: present, the member's, valid then"),
    ("V-54", "unneeded_certificate", "each certificate is on the roll or used"),
    ("V-55", "inconsistent_certificate", "one serial, one certificate across the votes"),
    # The board's entries.
    ("V-60", "bad_entry", "a board entry of this vote in its version 1 form"),
    ("V-61", "broken_chain", "seq and prev link the entry to the one before"),
    ("V-62", "malformed", "the ballot has its version 1 form"),
    ("V-63", "wrong_vote", "the ballot names this vote and its fingerprint"),
    ("V-64", "bad_choice", "the choice is one the vote allows"),
    ("V-65", "unknown_key", "the ballot's serial is a certificate of the bundle"),
    ("V-66", "bad_signature", "the certificate's key signed the ballot"),
    ("V-67", "not_on_roll", "the voter is on the roll with that key"),
    ("V-68", "expired", "the certificate is valid when the ballot arrived"),
    ("V-69", "revoked", "the certificate was not revoked before the ballot"),
    ("V-70", "out_of_time", "received between opening, the entry before, deadline, close"),
    ("V-71", "repeated_ballot", "no ballot twice on the board"),
    # The checkpoint.
    ("V-80", "wrong_checkpoint", "the checkpoint describes this board"),
    ("V-81", "bad_revocation_places", "each revoked certificate is placed on the board"),
    ("V-82", "misdated_revocation", "a revocation is not dated after the entry after it"),
    # The result.
    ("V-90", "wrong_result", "the signed result is the one the board gives"),
    # A voter's receipt (kvorum audit receipt).
    ("V-100", "bad_receipt", "a receipt signed by a registry key"),
    ("V-101", "missing_ballot", "the board holds the receipt's entry at its place"),
    # The auditor's own files (the command line).
    ("V-110", "bad_keys_file", "the --keys file is a usable kvorum.registry-keys"),
    ("V-111", "unreadable", "a file named on the command line can be read"),
    # A secretary's hall records (definition version 2).
    ("V-120", "bad_hall_record", "the hall record has its version 1 form"),
    ("V-121", "hall_record_not_allowed", "only a version 2 definition takes hall records"),
    ("V-122", "not_secretary", "the record is signed by the definition's secretary"),
    ("V-123", "not_in_hall", "the member recorded is on the roll in the hall, not the secretary"),
    ("V-124", "already_voted", "no record after the member's own ballot"),
    # A secret vote's bundle (kvorum.secret-audit-bundle).
    ("V-200", "bad_secret_definition", "the secret definition keeps every rule of its format"),
    ("V-210", "bad_entry", "a secret board entry of this vote carrying a document of its kind"),
    ("V-211", "broken_chain", "seq and prev link the entry to the one before"),
    ("V-212", "bad_signature", "signed by the certified key of its serial, valid then"),
    ("V-213", "not_on_commission", "key generation and decryption by commission members"),
    (
        "V-214",
        "out_of_time",
        "key generation before opening, ballots before close, then decryption",
    ),
    ("V-215", "wrong_vote", "the document names this vote, key generation or definition"),
    ("V-216", "repeated_ballot", "no signed document or ballot nonce twice on the board"),
    ("V-220", "bad_keygen_message", "each dealer message and complaint keeps S-13 … S-18, S-22"),
    ("V-221", "wrong_election_key", "the definition's key and dealers are the key generation's"),
    ("V-230", "bad_ballot", "each encrypted ballot's proofs verify (S-1 … S-12, S-22)"),
    ("V-231", "bad_opening", "each spoiling opens the voter's own ballot exactly (S-21)"),
    ("V-240", "bad_partial_decryption", "each partial decryption verifies and names its signer"),
    ("V-241", "duplicate_trustee", "no commission member decrypts twice (S-17)"),
    ("V-242", "not_enough_decryptions", "at least t partial decryptions (S-19)"),
    ("V-250", "wrong_result", "the signed result is the one the board gives"),
)

#: id → :class:`Check`, in the order of ``docs/ballots.md``.
CHECKS: dict[str, Check] = {id_: Check(id_, reason, what) for id_, reason, what in _TABLE}
