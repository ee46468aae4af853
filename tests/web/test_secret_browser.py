"""Secret ballots made in the browser, checked by the Python verifier (and back).

The page imports the served modules (/static/js/secret.js and the vendored
@noble/curves bundle) and: deals the commission's key generation, encrypts fresh ballots
of both forms, partially decrypts the tally; Python (crypto.secretballot, crypto.dkg)
verifies every object and counts. The share store (IndexedDB, non-extractable wrapping
key), the backup file and the X25519 share transport run in Chromium and in Firefox ESR.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from crypto.dkg import (
    DealerCommitment,
    DkgParameters,
    joint_key,
    member_share,
    qualified_dealers,
    verify_share,
)
from crypto.elgamal import DiscreteLogTable
from crypto.encoding import b64u_encode
from crypto.errors import SecretBallotError
from crypto.group import base, encode_scalar, parse_scalar, random_scalar
from crypto.secretballot import (
    BallotForm,
    BallotOpening,
    PartialDecryption,
    SecretElection,
    check_ballot,
    combine,
    encrypt_ballot,
    open_ballot,
    tally,
)
from tests.factories import LiveServer
from tests.web.bidi import launch_firefox

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "web" / "static" / "vendor" / "noble.js"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Each driver is a JavaScript function of one JSON argument, run in the page.
HELPERS = """
const S = await import('/static/js/secret.js');
const K = await import('/static/js/kvcrypto.js');
const fromHex = (hex) => Uint8Array.from(hex.match(/../g), (p) => parseInt(p, 16));
const election = (a) => S.secretElection(fromHex(a.fingerprint_hex), S.parsePoint(a.key),
    S.formFromJSON(a.form));
"""

DEAL = f"""async (a) => {{ {HELPERS}
    const params = S.dkgParameters(fromHex(a.context_hex), a.members, a.threshold);
    const made = await S.deal(params, a.dealer);
    const shares = {{}};
    for (const [i, s] of made.shares) shares[i] = S.encodeScalar(s);
    return {{ commitment: S.dealerCommitmentToJSON(made.commitment), shares }};
}}"""

ENCRYPT = f"""async (a) => {{ {HELPERS}
    const el = election(a);
    const voter = K.b64uDecode(a.voter_key, 32);
    const {{ ballot, opening }} = await S.encryptBallot(el, voter, a.marks);
    return {{ ballot: S.ballotToJSON(ballot), opening: S.openingToJSON(opening) }};
}}"""

PARTIAL = f"""async (a) => {{ {HELPERS}
    const el = election(a);
    const totals = a.totals.map((t) => S.parseCiphertext(t.alpha, t.beta));
    const made = await S.partialDecrypt(el, a.member, S.parseScalar(a.share), totals);
    return S.partialToJSON(made);
}}"""

CHECK = f"""async (a) => {{ {HELPERS}
    const el = election(a);
    try {{
        const ballot = await S.checkBallot(el, K.b64uDecode(a.voter_key, 32), a.ballot);
        if (a.opening) return (await S.openBallot(el, K.b64uDecode(a.voter_key, 32), ballot,
            S.parseOpening(a.opening, el.form))).join(',');
        return 'ok';
    }} catch (error) {{
        return `${{error.check}} ${{error.reason}}`;
    }}
}}"""

# The share store, the backup file and the transport, each step reporting what it saw.
STORE = f"""async (a) => {{ {HELPERS}
    const out = {{}};
    const id = 'test-' + a.context_hex;
    const payload = {{ context_hex: a.context_hex, member: 2, share: a.share }};
    await S.storeShare(id, payload);
    out.loaded = await S.loadShare(id);
    // What IndexedDB holds: the sealed record and a key that cannot be read out.
    const db = await new Promise((ok, no) => {{
        const r = indexedDB.open('kvorum-commission'); r.onsuccess = () => ok(r.result);
        r.onerror = () => no(r.error); }});
    const get = (store, key) => new Promise((ok, no) => {{
        const r = db.transaction(store).objectStore(store).get(key);
        r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); }});
    const record = await get('shares', id);
    out.record_text = JSON.stringify(record);
    const wrapping = (await get('wrapping-keys', 'shares')).key;
    out.wrapping_extractable = wrapping.extractable;
    out.wrapping_export = await crypto.subtle.exportKey('raw', wrapping).then(
        () => 'exported', (e) => e.name);
    db.close();
    out.backup = await S.exportBackup('test', payload, a.passphrase);
    await S.deleteShare(id);
    out.after_delete = await S.loadShare(id);
    out.restored = (await S.importBackup(out.backup, a.passphrase)).payload;
    out.wrong = await S.importBackup(out.backup, a.passphrase + 'x').then(
        () => 'opened', (e) => e.reason);
    // Transport: a member's X25519 key made here, a share sealed to it and opened.
    const pair = await S.generateTransportKey();
    const pub = await S.exportTransportKey(pair.publicKey);
    const ctx = fromHex(a.context_hex);
    const envelope = await S.sealShareFor(pub, {{ context: ctx, dealer: 1, recipient: 2,
        share: S.parseScalar(a.share) }});
    out.envelope_text = JSON.stringify(envelope);
    out.opened = S.encodeScalar(await S.openShareEnvelope(pair.privateKey, pub, envelope,
        {{ context: ctx, dealer: 1, recipient: 2 }}));
    const other = await S.generateTransportKey();
    out.other = await S.openShareEnvelope(other.privateKey, await S.exportTransportKey(
        other.publicKey), envelope, {{ context: ctx, dealer: 1, recipient: 2 }}).then(
        () => 'opened', (e) => e.reason);
    return out;
}}"""


@pytest.fixture
def bundle() -> Path:
    """The vendored bundle must have been built (scripts/lib.sh: ensure_vendor)."""
    if not BUNDLE.exists():
        message = f"{BUNDLE} is missing: run `npm ci --ignore-scripts && node scripts/vendor.mjs`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return BUNDLE


async def test_the_served_bundle_is_the_recorded_one(client: Any, bundle: Path) -> None:
    """What /static/vendor/noble.js serves has the SHA-256 committed in scripts/vendor.sha256,
    with the pages' CSP, and the module the pages import reaches it by a relative path."""
    recorded = {
        path: digest
        for digest, path in (
            line.split()
            for line in (ROOT / "scripts" / "vendor.sha256").read_text("utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        )
    }
    response = await client.get("/static/vendor/noble.js")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = await response.read()
    assert hashlib.sha256(body).hexdigest() == recorded["web/static/vendor/noble.js"]
    group = await (await client.get("/static/js/secret/group.js")).text()
    assert 'from "../../vendor/noble.js"' in group


def election_json(election: SecretElection) -> dict[str, Any]:
    form = election.form
    return {
        "fingerprint_hex": election.fingerprint.hex(),
        "key": election.key.encode(),
        "form": {
            "options": form.options,
            "min_marks": form.min_marks,
            "max_marks": form.max_marks,
        },
    }


async def new_page(browser: Any, live_server: LiveServer) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.goto(live_server.url("/login"))
    return page


async def test_key_generation_ballots_and_count_made_in_chromium_verify_in_python(
    browser: Any, live_server: LiveServer, bundle: Path
) -> None:
    page = await new_page(browser, live_server)
    # The commission's key generation: three dealers in the browser, checked in Python.
    params = DkgParameters(secrets.token_bytes(32), 3, 2)
    dealt = [
        await page.evaluate(
            DEAL,
            {"context_hex": params.context.hex(), "members": 3, "threshold": 2, "dealer": j},
        )
        for j in (1, 2, 3)
    ]
    commitments = [DealerCommitment.parse(d["commitment"], params) for d in dealt]
    qualified = qualified_dealers(params, commitments)
    assert [c.dealer for c in qualified] == [1, 2, 3]
    key = joint_key(params, qualified)
    shares = {}
    for i in (1, 2, 3):
        received = {}
        for commitment, d in zip(commitments, dealt, strict=True):
            received[commitment.dealer] = parse_scalar(d["shares"][str(i)])
            verify_share(params, commitment, i, received[commitment.dealer])
        shares[i] = member_share(received, key.qualified)
        assert base(shares[i]) == key.verification_keys[i]

    # Fresh ballots of both forms encrypted in the page, verified and opened in Python.
    fingerprint = secrets.token_bytes(32)
    chair = SecretElection(fingerprint, key.key, BallotForm.one_of(3))
    presidium = SecretElection(fingerprint, key.key, BallotForm.approve_reject(10, 3))
    cast = []
    for election, marks in [
        (chair, [0, 1, 0]),
        (chair, [1, 0, 0]),
        (chair, [0, 1, 0]),
        (presidium, [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]),
        (presidium, [0] * 10),
    ]:
        voter = secrets.token_bytes(32)
        made = await page.evaluate(
            ENCRYPT, {**election_json(election), "voter_key": b64u_encode(voter), "marks": marks}
        )
        ballot = check_ballot(election, voter, made["ballot"])
        opening = BallotOpening.parse(made["opening"], election.form)
        assert open_ballot(election, voter, ballot, opening) == tuple(marks)
        # The same ballot under another voter's key is refused: the proofs are bound to it.
        with pytest.raises(SecretBallotError) as refused:
            check_ballot(election, secrets.token_bytes(32), made["ballot"])
        assert refused.value.check == "S-11"
        if election is chair:
            cast.append(ballot)

    # The count: two of three members decrypt in the page, Python combines.
    totals = tally(chair, cast)
    partials = []
    for member in (1, 3):
        made = await page.evaluate(
            PARTIAL,
            {
                **election_json(chair),
                "member": member,
                "share": encode_scalar(shares[member]),
                "totals": [t.to_json() for t in totals],
            },
        )
        partials.append(PartialDecryption.parse(made, 3))
    assert combine(chair, key, totals, partials, DiscreteLogTable(3)) == (1, 2, 0)


async def test_python_ballots_checked_and_opened_in_chromium(
    browser: Any, live_server: LiveServer, bundle: Path
) -> None:
    page = await new_page(browser, live_server)
    election = SecretElection(
        secrets.token_bytes(32), base(random_scalar()), BallotForm.approve_reject(4, 2)
    )
    voter = secrets.token_bytes(32)
    ballot, opening = encrypt_ballot(election, voter, [1, 0, 0, 1])
    args = {**election_json(election), "voter_key": b64u_encode(voter)}
    assert await page.evaluate(CHECK, {**args, "ballot": ballot.to_json()}) == "ok"
    assert (
        await page.evaluate(
            CHECK, {**args, "ballot": ballot.to_json(), "opening": opening.to_json()}
        )
        == "1,0,0,1"
    )
    lying = {"marks": [0, 1, 0, 1], "randomness": opening.to_json()["randomness"]}
    assert (
        await page.evaluate(CHECK, {**args, "ballot": ballot.to_json(), "opening": lying})
        == "S-21 audit_mismatch"
    )
    other = {**args, "voter_key": b64u_encode(secrets.token_bytes(32))}
    assert await page.evaluate(CHECK, {**other, "ballot": ballot.to_json()}) == "S-11 bad_bit_proof"


def check_store_report(report: dict[str, Any], context_hex: str, share: str) -> None:
    payload = {"context_hex": context_hex, "member": 2, "share": share}
    assert report["loaded"] == payload
    assert share not in report["record_text"]
    assert report["wrapping_extractable"] is False
    assert report["wrapping_export"] == "InvalidAccessError"
    assert share not in report["backup"]
    assert report["after_delete"] is None
    assert report["restored"] == payload
    assert report["wrong"] == "wrong_passphrase"
    assert share not in report["envelope_text"]
    assert report["opened"] == share
    assert report["other"] == "cannot_decrypt"


async def test_share_store_backup_and_transport_in_chromium(
    browser: Any, live_server: LiveServer, bundle: Path
) -> None:
    page = await new_page(browser, live_server)
    context_hex = secrets.token_bytes(32).hex()
    share = encode_scalar(random_scalar())
    args = {"context_hex": context_hex, "share": share, "passphrase": "корректная лошадь 42"}
    check_store_report(await page.evaluate(STORE, args), context_hex, share)
    # The wrapped share survives a reload (IndexedDB), and is still unwrapped here.
    await page.evaluate(
        f"async (a) => {{ {HELPERS} await S.storeShare('kept', {{share: a.share}}); }}", args
    )
    await page.reload()
    kept = await page.evaluate(
        f"async () => {{ {HELPERS} return (await S.loadShare('kept')).share; }}"
    )
    assert kept == share


async def test_ballots_share_store_and_transport_in_firefox(
    firefox_path: str, live_server: LiveServer, bundle: Path
) -> None:
    election = SecretElection(
        secrets.token_bytes(32), base(random_scalar()), BallotForm.approve_reject(10, 3)
    )
    voter = secrets.token_bytes(32)
    context_hex = secrets.token_bytes(32).hex()
    share = encode_scalar(random_scalar())
    async with launch_firefox(firefox_path) as firefox:
        page = await firefox.new_page()
        await page.navigate(live_server.url("/login"))
        made = await page.call(
            ENCRYPT,
            {
                **election_json(election),
                "voter_key": b64u_encode(voter),
                "marks": [1] * 3 + [0] * 7,
            },
        )
        ballot = check_ballot(election, voter, made["ballot"])
        opening = BallotOpening.parse(made["opening"], election.form)
        assert open_ballot(election, voter, ballot, opening) == (1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
        report = await page.call(
            STORE,
            {"context_hex": context_hex, "share": share, "passphrase": "корректная лошадь 42"},
        )
        check_store_report(report, context_hex, share)
