"""The secret board's proof check off the lock: a worker gets plain values and answers
whether the ballot keeps every check of ``check_ballot``, in a real worker process."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import secrets
from typing import Any

from ballots.secretboard import _proofs_hold
from crypto.group import base
from crypto.secretballot import BallotForm, SecretElection, encrypt_ballot


def test_a_worker_process_says_which_ballots_keep_their_proofs() -> None:
    election = SecretElection(secrets.token_bytes(32), base(987654321), BallotForm(3, 1, 1))
    voter = secrets.token_bytes(32)
    honest, _opening = encrypt_ballot(election, voter, (0, 1, 0))
    value: Any = honest.to_json()
    # The options' ciphertexts swapped: every proof is bound to its option's place.
    tampered = {**value, "choices": [*value["choices"][1:], value["choices"][0]]}
    plain = (election.fingerprint, election.key.raw, 3, 1, 1)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        verdicts = [
            pool.submit(_proofs_hold, plain, voter, value).result(),
            pool.submit(_proofs_hold, plain, voter, tampered).result(),
            pool.submit(_proofs_hold, plain, secrets.token_bytes(32), value).result(),
            pool.submit(_proofs_hold, (bytes(32), *plain[1:]), voter, value).result(),
        ]
    assert verdicts == [True, False, False, False]
