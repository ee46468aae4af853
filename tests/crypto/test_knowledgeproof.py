"""Knowledge proofs of key-generation dealers."""

from __future__ import annotations

import pytest

from crypto.errors import SecretBallotError
from crypto.group import base, random_scalar
from crypto.knowledgeproof import KnowledgeProof, prove_knowledge, verify_knowledge

CTX = b"\x09" * 32


def test_honest_proof_verifies_and_is_bound_to_its_context() -> None:
    secret = random_scalar()
    commitments = [base(secret), base(random_scalar())]
    proof = prove_knowledge(CTX, 5, 2, 3, commitments, secret, random_scalar)
    verify_knowledge(CTX, 5, 2, 3, commitments, proof)
    assert KnowledgeProof.parse(proof.to_json()) == proof
    for args in (
        (b"\x0a" * 32, 5, 2, 3, commitments),  # another key generation
        (CTX, 5, 2, 4, commitments),  # claimed by another dealer
        (CTX, 4, 2, 3, commitments),  # another commission size
        (CTX, 5, 2, 3, [commitments[0], base(1)]),  # other commitments
    ):
        with pytest.raises(SecretBallotError) as info:
            verify_knowledge(*args, proof)  # type: ignore[arg-type]
        assert info.value.reason == "bad_knowledge_proof"


def test_a_rogue_commitment_has_no_proof() -> None:
    """A dealer publishing h_target / (the others' product) does not know its log."""
    others = base(random_scalar())
    rogue = base(5) - others
    proof = prove_knowledge(CTX, 2, 1, 2, [rogue], random_scalar(), random_scalar)
    with pytest.raises(SecretBallotError) as info:
        verify_knowledge(CTX, 2, 1, 2, [rogue], proof)
    assert (info.value.check, info.value.trustee) == ("S-13", 2)
