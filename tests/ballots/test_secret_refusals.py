"""What the secret board refuses over HTTP, each with its reason code (and the check it
fails) and nothing changed: no entry, no share, no transport key, the vote and the
election as they were. Run on SQLite and on PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.secretmodels import SecretEntry, SecretShare, SecretTransportKey, SecretVote
from crypto.encoding import b64u_encode
from crypto.errors import SecretBallotError
from crypto.group import SMALL_ORDER_ENCODINGS, L, base, encode_scalar, parse_point
from crypto.secretballot import BallotForm, SecretElection, encrypt_ballot
from meetings.elections.models import Election
from tests.ballots.secret_setup import Browser, SecretWorld, secret_world
from tests.ballots.test_secret_server import keygen

_P = 2**255 - 19


async def _snapshot(db: AsyncSession) -> tuple[Any, ...]:
    await db.rollback()
    counts = [
        await db.scalar(select(func.count()).select_from(t))
        for t in (SecretEntry, SecretShare, SecretTransportKey)
    ]
    votes = (
        await db.execute(
            select(SecretVote.phase, SecretVote.length, SecretVote.head, SecretVote.result)
        )
    ).all()
    elections = (await db.execute(select(Election.state, Election.result))).all()
    await db.rollback()  # SQLite: hold no lock while the server answers
    return (*counts, tuple(votes), tuple(elections))


async def refused(
    db: AsyncSession,
    who: Any,
    path: str,
    body: Any,
    reason: str,
    check: str | None = None,
    *,
    text: str = "",
) -> dict[str, Any]:
    """``who`` POSTs ``body`` to ``path``: refused with ``reason`` (and ``check``), a
    Russian message, and the database as it was."""
    before = await _snapshot(db)
    http = who.http if isinstance(who, Browser) else who
    response = await http.post(path, json=body)
    answer = await response.json()
    assert 400 <= response.status < 500, answer
    assert answer["error"] == reason, answer
    assert answer.get("check") == check, answer
    assert answer["message"]
    assert answer["message"] != answer["detail"]
    assert text in answer["detail"], answer
    assert await _snapshot(db) == before
    return dict(answer)


def _off_curve() -> str:
    """An encoding whose y is below p but on no point of the curve (S-3)."""
    for y in range(2, 100):
        text = b64u_encode(y.to_bytes(32, "little"))
        try:
            parse_point(text)
        except SecretBallotError as exc:
            if exc.check == "S-3":
                return text
    raise AssertionError("no y below 100 is off the curve")


def _small() -> str:
    """A point of small order other than the identity (S-4)."""
    identity = b"\x01" + b"\x00" * 31
    return b64u_encode(sorted(e for e in SMALL_ORDER_ENCODINGS if e != identity)[0])


def _with(ballot: dict[str, Any], change: Any) -> dict[str, Any]:
    changed = copy.deepcopy(ballot)
    change(changed)
    return changed


async def test_key_generation_refusals(client: Any, aiohttp_client: Any, db: AsyncSession) -> None:
    world = await secret_world(db, client, aiohttp_client)
    await world.get(world.commission[0])
    one, two = world.commission[0], world.commission[1]
    outsider = world.browsers[6]
    # A member not on the commission publishes a transport key.
    outsider.index = 1
    await refused(
        db,
        outsider,
        world.path("transport-keys"),
        world.transport_key(outsider),
        "not_on_commission",
    )
    outsider.index = None
    # Another key generation's context.
    document = world.transport_key(one)
    document = one.sign({**document["payload"], "context": b64u_encode(b"\x01" * 32)})
    await refused(db, one, world.path("transport-keys"), document, "wrong_vote", "V-215")
    # Someone else's signed document, sent by another member.
    await refused(db, two, world.path("transport-keys"), world.transport_key(one), "not_yours")
    # Dealing before every transport key is published.
    await refused(db, one, world.path("dealings"), world.dealing(one), "transport_keys_missing")
    for member in world.commission:
        await world_post(member, world.path("transport-keys"), world.transport_key(member))
    # A second transport key of the same member.
    await refused(
        db, one, world.path("transport-keys"), world.transport_key(one), "already_published"
    )
    # Key finished before anyone dealt; a ballot before the vote opened.
    await refused(db, one, world.path("key"), None, "dealings_missing")
    early = outsider.sign(
        {
            "type": "kvorum.secret-ballot",
            "v": 1,
            "vote": world.state["vote"],
            "serial": outsider.voter.serial,
            "definition": "sha256:" + "0" * 64,
            "nonce": "early-ballot-nonce-01",
            "ballot": {"choices": [], "sum_proof": {"c": [], "v": []}},
        }
    )
    await refused(db, outsider, world.path("ballots"), early, "not_open", "V-214")
    # A dealer not on the commission (the board's check V-213).
    dealing = world.dealing(one)
    forged = outsider.sign({**dealing["dealer"]["payload"], "serial": outsider.voter.serial})
    await refused(
        db,
        outsider,
        world.path("dealings"),
        {"dealer": forged, "shares": []},
        "not_on_commission",
        "V-213",
    )
    # A dealing missing a share.
    short = {"dealer": dealing["dealer"], "shares": dealing["shares"][:-1]}
    await refused(db, one, world.path("dealings"), short, "malformed")
    # A knowledge proof that does not verify (S-13).
    payload = copy.deepcopy(dealing["dealer"]["payload"])
    proof = payload["commitment"]["proof"]
    proof["c"], proof["z"] = proof["z"], proof["c"]
    bad = {"dealer": one.sign(payload), "shares": dealing["shares"]}
    await refused(db, one, world.path("dealings"), bad, "bad_keygen_message", "V-220", text="S-13")
    # A commitment point of small order (S-4), and a scalar ≥ ℓ (S-8).
    payload = copy.deepcopy(dealing["dealer"]["payload"])
    payload["commitment"]["commitments"][1] = _small()
    bad = {"dealer": one.sign(payload), "shares": dealing["shares"]}
    await refused(db, one, world.path("dealings"), bad, "bad_keygen_message", "V-220")
    payload = copy.deepcopy(dealing["dealer"]["payload"])
    payload["commitment"]["proof"]["z"] = b64u_encode(L.to_bytes(32, "little"))
    bad = {"dealer": one.sign(payload), "shares": dealing["shares"]}
    await refused(db, one, world.path("dealings"), bad, "bad_keygen_message", "V-220", text="S-8")
    await world_post(one, world.path("dealings"), dealing)
    # The same dealer dealing again (another polynomial): S-17.
    await refused(
        db,
        one,
        world.path("dealings"),
        world.dealing(one),
        "bad_keygen_message",
        "V-220",
        text="S-17",
    )
    # A complaint signed by a member who is not its recipient.
    complaint = world.complaint(two, 1, 3, None)
    await refused(db, two, world.path("complaints"), complaint, "bad_keygen_message", "V-220")
    # Opening before the key is ready, or by someone who is not the chair.
    await refused(db, world.chair, world.path("open"), None, "election_state")
    await refused(db, one, world.path("open"), None, "not_yours")


async def world_post(who: Browser, path: str, body: Any) -> dict[str, Any]:
    response = await who.http.post(path, json=body)
    text = await response.text()
    assert response.status in (200, 201), text
    return dict(json.loads(text))


async def _opened(db: AsyncSession, client: Any, aiohttp_client: Any) -> SecretWorld:
    world = await secret_world(db, client, aiohttp_client)
    await keygen(world, complain=False)
    world.state = await world_post(world.chair, world.path("open"), None)
    return world


async def test_ballot_refusals(client: Any, aiohttp_client: Any, db: AsyncSession) -> None:
    world = await _opened(db, client, aiohttp_client)
    voter, other = world.browsers[6], world.browsers[7]
    path = world.path("ballots")
    document, opening, _ = world.ballot(voter, (1, 0, 0))
    honest = document["payload"]["ballot"]

    def cast(who: Browser, ballot: dict[str, Any], **change: Any) -> dict[str, Any]:
        return who.sign(
            {**document["payload"], "serial": who.voter.serial, "ballot": ballot} | change
        )

    choice0 = lambda b, k, v: b["choices"][0].__setitem__(k, v)  # noqa: E731
    # Points off the curve (S-3), of small order (S-4), not canonical (S-2).
    for point, s_check in (
        (_off_curve(), "S-3"),
        (_small(), "S-4"),
        (b64u_encode(b"\x01" + b"\x00" * 30 + b"\x80"), "S-2"),
        (b64u_encode((_P + 3).to_bytes(32, "little")), "S-2"),
    ):
        bad = _with(honest, lambda b, p=point: choice0(b, "alpha", p))
        await refused(db, voter, path, cast(voter, bad), "bad_ballot", "V-230", text=s_check)
    # A scalar ≥ ℓ in a proof (S-8).
    big = b64u_encode(L.to_bytes(32, "little"))
    bad = _with(honest, lambda b: b["choices"][1]["proof"]["v"].__setitem__(0, big))
    await refused(db, voter, path, cast(voter, bad), "bad_ballot", "V-230", text="S-8")
    # A mark of 2 or −1 under the honest proofs (S-11).
    for delta in (base(1), -base(1)):
        option = 0 if delta == base(1) else 1
        bad = _with(
            honest,
            lambda b, d=delta, o=option: b["choices"][o].__setitem__(
                "beta", (parse_point(b["choices"][o]["beta"]) + d).encode()
            ),
        )
        await refused(db, voter, path, cast(voter, bad), "bad_ballot", "V-230", text="S-11")
    # Too many and too few marks: proofs made for a form allowing them (S-12 / S-22).
    election = world.election_crypto()
    loose = SecretElection(election.fingerprint, election.key, BallotForm(3, 0, 3))
    key = bytes(voter.voter.key.public_key)
    for marks in ((1, 1, 0), (0, 0, 0), (1, 1, 1)):
        made, _ = encrypt_ballot(loose, key, marks)
        await refused(db, voter, path, cast(voter, made.to_json()), "bad_ballot", "V-230")
    # A ballot copied from another voter: its proofs are bound to the first's key.
    await refused(db, other, path, cast(other, honest), "bad_ballot", "V-230", text="S-11")
    # A ballot whose proofs were made for another election (another fingerprint),
    # sent under this one's.
    elsewhere = SecretElection(bytes(32), election.key, election.form)
    made, _ = encrypt_ballot(elsewhere, key, (1, 0, 0))
    await refused(db, voter, path, cast(voter, made.to_json()), "bad_ballot", "V-230")
    # Another election's fingerprint, another vote.
    await refused(
        db, voter, path, cast(voter, honest, definition="sha256:" + "2" * 64), "wrong_vote", "V-215"
    )
    await refused(
        db, voter, path, cast(voter, honest, vote=world.state["vote"] + 1), "wrong_vote", "V-215"
    )
    # Signed by another key under this voter's serial.
    forged = other.sign(document["payload"])
    await refused(db, other, path, forged, "bad_signature", "V-212")
    # A member of the body who is not on the roll (not present).
    stranger, _o, _b = world.ballot(world.absent, (1, 0, 0))
    await refused(db, world.absent, path, stranger, "not_on_roll", "V-212")
    # Accepted once; a new ballot repeating its nonce is a replay (V-216).
    placed = await world_post(voter, path, document)
    replay = cast(voter, world.ballot(voter, (0, 1, 0))[0]["payload"]["ballot"])
    await refused(db, voter, path, replay, "repeated_ballot", "V-216")
    # Spoiling someone else's ballot, or with an opening that is not this ballot's.
    await refused(
        db,
        other,
        path.replace("ballots", "spoils"),
        world.spoil(other, placed["seq"], opening),
        "bad_opening",
        "V-231",
    )
    _d, wrong, _b = world.ballot(voter, (0, 0, 1))
    await refused(
        db,
        voter,
        path.replace("ballots", "spoils"),
        world.spoil(voter, placed["seq"], wrong),
        "bad_opening",
        "V-231",
    )
    # A partial decryption while the vote is open; closing by a member.
    one = world.commission[0]
    one.shares = {d.index: d.dealt[one.index] for d in world.commission}  # type: ignore[index]
    await refused(db, one, world.path("partials"), world.partial(one, []), "out_of_time", "V-214")
    await refused(db, one, world.path("close"), None, "not_yours")
    # Shares are handed only to commission members.
    response = await world.browsers[7].http.get(world.path("shares"))
    assert (response.status, (await response.json())["error"]) == (403, "not_on_commission")


async def test_count_refusals(client: Any, aiohttp_client: Any, db: AsyncSession) -> None:
    world = await _opened(db, client, aiohttp_client)
    for member in world.commission:
        member.shares = {d.index: d.dealt[member.index] for d in world.commission}  # type: ignore[index]
    ballots = []
    for index in (0, 6, 7):
        document, _o, encrypted = world.ballot(world.browsers[index], (1, 0, 0))
        await world_post(world.browsers[index], world.path("ballots"), document)
        ballots.append(encrypted)
    late, _o, _b = world.ballot(world.browsers[8], (0, 1, 0))
    await world_post(world.chair, world.path("close"), None)
    # A ballot after the close.
    await refused(db, world.browsers[8], world.path("ballots"), late, "closed", "V-214")
    one, two, three = world.commission[:3]
    # A partial decryption by someone not on the commission.
    outsider = world.browsers[7]
    made = world.partial(one, ballots)
    forged = outsider.sign({**made["payload"], "serial": outsider.voter.serial})
    await refused(db, outsider, world.path("partials"), forged, "not_on_commission", "V-213")
    # A wrong proof names the member (S-16).
    payload = copy.deepcopy(world.partial(two, ballots)["payload"])
    proof = payload["partial"]["partials"][0]["proof"]
    proof["c"], proof["v"] = proof["v"], proof["c"]
    answer = await refused(
        db, two, world.path("partials"), two.sign(payload), "bad_partial_decryption", "V-240"
    )
    assert "member 2" in answer["detail"]
    # Another member's partial decryption signed as one's own.
    await refused(
        db,
        two,
        world.path("partials"),
        two.sign({**made["payload"], "serial": two.voter.serial}),
        "bad_partial_decryption",
        "V-240",
    )
    # Fewer than t: no result, no bundle.
    await world_post(one, world.path("partials"), made)
    await refused(
        db, one, world.path("partials"), world.partial(one, ballots), "duplicate_trustee", "V-241"
    )
    await world_post(two, world.path("partials"), world.partial(two, ballots))
    state = await world.get()
    assert state["phase"] == "closed"
    assert state["result"] is None
    response = await world.chair.http.get(world.path("bundle"))
    assert (response.status, (await response.json())["error"]) == (409, "not_counted")
    # The third counts; a fourth is refused.
    await world_post(three, world.path("partials"), world.partial(three, ballots))
    four = world.commission[3]
    await refused(db, four, world.path("partials"), world.partial(four, ballots), "counted")
    assert (await world.get())["result"]["payload"]["counts"] == [3, 0, 0]
    _ = encode_scalar
