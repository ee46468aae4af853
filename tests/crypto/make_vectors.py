"""Write the shared test vectors in ``tests/crypto/vectors/``.

Run ``.venv/bin/python -m tests.crypto.make_vectors`` after a deliberate change;
``tests/crypto/test_vectors.py`` fails if the stored files drift from what this
writes. The RFC 8785 expectations below are typed in from the RFC text and checked
against the Python implementation before anything is written; the generated float
cases and the signatures come from the Python implementation and are checked
independently by the JavaScript twin (``tests/web/kvcrypto.test.mjs``).

File formats (lists of objects):

``canonical.json``
    ``name``; one of ``input`` (a JSON value), ``input_json`` (JSON text to parse
    first, for cases a JSON file cannot hold as a value: escapes, lone surrogates,
    number spellings, member order) or ``input_ieee754`` (16 hex digits: the bits
    of one double); ``canonical``: the exact expected text.
``invalid.json``
    ``name``; ``mode``: ``canonicalize``, ``signed`` (``canonicalize_signed`` /
    ``canonicalizeSigned``) or ``parse`` (``parse_canonical``, Python only); one of
    ``input``, ``input_json``, ``special`` (``NaN``, ``Infinity``, ``-Infinity``),
    ``bytes`` (UTF-8 text) or ``bytes_hex``; ``reason``: the error's reason code;
    ``python_only``: true where JavaScript cannot even hold the input (2.0 is 2
    there, 2**53+1 rounds while parsing).
``ed25519.json``
    ``name``, ``seed`` (hex), ``public_key`` (base64url), ``key_id``, ``payload``
    (a JSON object), ``canonical`` (its canonical text) and ``signature``
    (base64url of Ed25519 over the UTF-8 of ``canonical``).
"""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path

from crypto.canonical import canonicalize, canonicalize_signed
from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_encode
from crypto.hashing import sha256

VECTORS = Path(__file__).parent / "vectors"

# RFC 8785 §3.2.2: the sample object, exactly as the RFC spells its input.
RFC8785_SAMPLE_INPUT = (
    "{\n"
    '  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
    '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
    '  "literals": [null, true, false]\n'
    "}"
)
RFC8785_SAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

# RFC 8785 §3.2.3: member sorting by UTF-16 code units.
RFC8785_SORTING_INPUT = (
    "{\n"
    '  "\\u20ac": "Euro Sign",\n'
    '  "\\r": "Carriage Return",\n'
    '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n'
    '  "1": "One",\n'
    '  "\\ud83d\\ude00": "Emoji: Grinning Face",\n'
    '  "\\u0080": "Control",\n'
    '  "\\u00f6": "Latin Small Letter O With Diaeresis"\n'
    "}"
)
RFC8785_SORTING_OUTPUT = (
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
    '"ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",'
    '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
)

# RFC 8785 Appendix B: number serialisation samples (finite ones; NaN and
# Infinity are in invalid.json).
RFC8785_NUMBERS = [
    ("0000000000000000", "0", "zero"),
    ("8000000000000000", "0", "minus zero"),
    ("0000000000000001", "5e-324", "min pos number"),
    ("8000000000000001", "-5e-324", "min neg number"),
    ("7fefffffffffffff", "1.7976931348623157e+308", "max pos number"),
    ("ffefffffffffffff", "-1.7976931348623157e+308", "max neg number"),
    ("4340000000000000", "9007199254740992", "max pos int"),
    ("c340000000000000", "-9007199254740992", "max neg int"),
    ("4430000000000000", "295147905179352830000", "~2**68"),
    ("44b52d02c7e14af5", "9.999999999999997e+22", ""),
    ("44b52d02c7e14af6", "1e+23", ""),
    ("44b52d02c7e14af7", "1.0000000000000001e+23", ""),
    ("444b1ae4d6e2ef4e", "999999999999999700000", ""),
    ("444b1ae4d6e2ef4f", "999999999999999900000", ""),
    ("444b1ae4d6e2ef50", "1e+21", ""),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7", ""),
    ("3eb0c6f7a0b5ed8d", "0.000001", ""),
    ("41b3de4355555553", "333333333.3333332", ""),
    ("41b3de4355555554", "333333333.33333325", ""),
    ("41b3de4355555555", "333333333.3333333", ""),
    ("41b3de4355555556", "333333333.3333334", ""),
    ("41b3de4355555557", "333333333.33333343", ""),
    ("becbf647612f3696", "-0.0000033333333333333333", ""),
    ("43143ff3c1cb0959", "1424953923781206.2", ""),
]

HAND_WRITTEN: list[dict[str, object]] = [
    {
        "name": "rfc8785 3.2.2 sample",
        "input_json": RFC8785_SAMPLE_INPUT,
        "canonical": RFC8785_SAMPLE_OUTPUT,
    },
    {
        "name": "rfc8785 3.2.3 sorting",
        "input_json": RFC8785_SORTING_INPUT,
        "canonical": RFC8785_SORTING_OUTPUT,
    },
    {"name": "literals", "input": [None, True, False], "canonical": "[null,true,false]"},
    {"name": "top-level null", "input": None, "canonical": "null"},
    {"name": "top-level string", "input": "a", "canonical": '"a"'},
    {"name": "empty object", "input": {}, "canonical": "{}"},
    {"name": "empty array", "input": [], "canonical": "[]"},
    {"name": "empty string and empty key", "input": {"": ""}, "canonical": '{"":""}'},
    {
        "name": "empty containers nested",
        "input": [{}, [], [[]], {"a": {}}],
        "canonical": '[{},[],[[]],{"a":{}}]',
    },
    {
        "name": "max safe integers",
        "input": [9007199254740991, -9007199254740991],
        "canonical": "[9007199254740991,-9007199254740991]",
    },
    {
        "name": "small integers",
        "input": [0, 1, -1, 10, 100, 1000000],
        "canonical": "[0,1,-1,10,100,1000000]",
    },
    {"name": "minus zero integer literal", "input_json": "-0", "canonical": "0"},
    {"name": "minus zero float literal", "input_json": "-0.0", "canonical": "0"},
    {
        "name": "integer 10**21 is the double 1e+21",
        "input_json": "1000000000000000000000",
        "canonical": "1e+21",
    },
    {
        "name": "integer 10**20 stays plain",
        "input_json": "100000000000000000000",
        "canonical": "100000000000000000000",
    },
    {
        "name": "number spellings",
        "input_json": "[1.0, 1e0, 10e-1, 0.1e1, 1E+2, 1.5e-7, 1.5e-6, 1.2345678901234568e+20]",
        "canonical": "[1,1,1,1,100,1.5e-7,0.0000015,123456789012345680000]",
    },
    {"name": "short escapes", "input": '\b\t\n\f\r"\\', "canonical": '"\\b\\t\\n\\f\\r\\"\\\\"'},
    {
        "name": "all other C0 controls",
        "input": "".join(chr(c) for c in range(0x20) if c not in (8, 9, 10, 12, 13)),
        "canonical": '"'
        + "".join(f"\\u{c:04x}" for c in range(0x20) if c not in (8, 9, 10, 12, 13))
        + '"',
    },
    {
        "name": "not escaped: slash, DEL, C1, line/paragraph separators",
        "input": "/\x7f\x80\x9f\u2028\u2029",
        "canonical": '"/\x7f\x80\x9f\u2028\u2029"',
    },
    {
        "name": "escaped input written literally",
        "input_json": '"\\u0041\\u00e9\\u0436\\/"',
        "canonical": '"Aéж/"',
    },
    {
        "name": "cyrillic",
        "input": {"name": "Профсоюзный комитет «Север»"},
        "canonical": '{"name":"Профсоюзный комитет «Север»"}',
    },
    {"name": "astral character", "input": "𝄞 😀", "canonical": '"𝄞 😀"'},
    {
        "name": "member order: code units, not code points",
        "input": {"\uffff": 1, "\U00010000": 2, "\ue000": 3},
        "canonical": '{"\U00010000":2,"\ue000":3,"\uffff":1}',
    },
    {
        "name": "member order: case, digits, prefixes",
        "input": {"b": 1, "B": 2, "a": 3, "aa": 4, "A": 5, "10": 6, "9": 7, "_": 8, "": 9},
        "canonical": '{"":9,"10":6,"9":7,"A":5,"B":2,"_":8,"a":3,"aa":4,"b":1}',
    },
    {
        "name": "nested members sorted at every level",
        "input": {"z": {"y": [{"b": 1, "a": 2}], "x": None}, "a": [3, {"d": True, "c": False}]},
        "canonical": '{"a":[3,{"c":false,"d":true}],"z":{"x":null,"y":[{"a":2,"b":1}]}}',
    },
    {
        "name": "whitespace in input is dropped",
        "input_json": ' { "b" : [ 1 , 2 ] ,\n\t"a" : { } } ',
        "canonical": '{"a":{},"b":[1,2]}',
    },
    {
        "name": "100 nested arrays (the depth limit)",
        "input_json": "[" * 100 + "]" * 100,
        "canonical": "[" * 100 + "]" * 100,
    },
]


def canonical_vectors() -> list[dict[str, object]]:
    vectors = list(HAND_WRITTEN)
    for hex_bits, expected, label in RFC8785_NUMBERS:
        name = f"rfc8785 appendix B {hex_bits}" + (f" ({label})" if label else "")
        vectors.append({"name": name, "input_ieee754": hex_bits, "canonical": expected})
    rng = random.Random(8785)
    for index in range(200):
        while True:
            bits = rng.getrandbits(64)
            value = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
            if math.isfinite(value):
                break
        if index % 2:  # also numbers of everyday magnitude, where notation switches
            value = rng.choice([1, -1]) * rng.random() * 10 ** rng.randint(-9, 23)
            bits = int.from_bytes(struct.pack(">d", value), "big")
        vectors.append(
            {
                "name": f"generated double {index}",
                "input_ieee754": f"{bits:016x}",
                "canonical": canonicalize(value).decode(),
            }
        )
    for vector in vectors:  # the hand-written expectations must hold in Python
        got = canonicalize(_input(vector)).decode()
        assert got == vector["canonical"], (vector["name"], got)
    return vectors


def invalid_vectors() -> list[dict[str, object]]:
    nested = "[" * 101 + "]" * 101
    return [
        {"name": "NaN", "mode": "canonicalize", "special": "NaN", "reason": "non_finite_number"},
        {
            "name": "Infinity",
            "mode": "canonicalize",
            "special": "Infinity",
            "reason": "non_finite_number",
        },
        {
            "name": "-Infinity",
            "mode": "canonicalize",
            "special": "-Infinity",
            "reason": "non_finite_number",
        },
        {
            "name": "lone high surrogate",
            "mode": "canonicalize",
            "input_json": '"a\\ud800b"',
            "reason": "lone_surrogate",
        },
        {
            "name": "lone low surrogate at the end",
            "mode": "canonicalize",
            "input_json": '"ab\\udc00"',
            "reason": "lone_surrogate",
        },
        {
            "name": "surrogates in the wrong order",
            "mode": "canonicalize",
            "input_json": '"\\ude00\\ud83d"',
            "reason": "lone_surrogate",
        },
        {
            "name": "lone surrogate in a member name",
            "mode": "canonicalize",
            "input_json": '{"\\udc00": 1}',
            "reason": "lone_surrogate",
        },
        {
            "name": "lone surrogate deep inside",
            "mode": "canonicalize",
            "input_json": '{"a": [1, {"b": "\\ud800"}]}',
            "reason": "lone_surrogate",
        },
        {
            "name": "101 nested arrays",
            "mode": "canonicalize",
            "input_json": nested,
            "reason": "too_deep",
        },
        {
            "name": "signed: fraction",
            "mode": "signed",
            "input": {"a": 4.5},
            "reason": "float_not_allowed",
        },
        {
            "name": "signed: 2**53",
            "mode": "signed",
            "input_json": "[9007199254740992]",
            "reason": "integer_out_of_range",
        },
        {
            "name": "signed: -2**53",
            "mode": "signed",
            "input_json": "[-9007199254740992]",
            "reason": "integer_out_of_range",
        },
        {
            "name": "signed: non-ASCII member name",
            "mode": "signed",
            "input": {"ключ": 1},
            "reason": "non_ascii_key",
        },
        {"name": "signed: NaN", "mode": "signed", "special": "NaN", "reason": "non_finite_number"},
        {
            "name": "signed: 2.0 is a float",
            "mode": "signed",
            "input_json": "2.0",
            "reason": "float_not_allowed",
            "python_only": True,
        },
        {
            "name": "2**53+1 is not a double",
            "mode": "canonicalize",
            "input_json": "9007199254740993",
            "reason": "integer_out_of_range",
            "python_only": True,
        },
        {
            "name": "parse: whitespace",
            "mode": "parse",
            "bytes": '{"a": 1}',
            "reason": "not_canonical",
        },
        {
            "name": "parse: trailing newline",
            "mode": "parse",
            "bytes": "{}\n",
            "reason": "not_canonical",
        },
        {
            "name": "parse: unsorted members",
            "mode": "parse",
            "bytes": '{"b":1,"a":2}',
            "reason": "not_canonical",
        },
        {"name": "parse: 1.0", "mode": "parse", "bytes": "1.0", "reason": "not_canonical"},
        {"name": "parse: 1E30", "mode": "parse", "bytes": "1E30", "reason": "not_canonical"},
        {"name": "parse: -0", "mode": "parse", "bytes": "-0", "reason": "not_canonical"},
        {
            "name": "parse: integer spelled beyond 1e21",
            "mode": "parse",
            "bytes": "1000000000000000000000",
            "reason": "not_canonical",
        },
        {
            "name": "parse: escaped slash",
            "mode": "parse",
            "bytes": '"\\/"',
            "reason": "not_canonical",
        },
        {
            "name": "parse: needless escape",
            "mode": "parse",
            "bytes": '"\\u0041"',
            "reason": "not_canonical",
        },
        {
            "name": "parse: uppercase hex escape",
            "mode": "parse",
            "bytes": '"\\u001F"',
            "reason": "not_canonical",
        },
        {
            "name": "parse: duplicate member",
            "mode": "parse",
            "bytes": '{"a":1,"a":1}',
            "reason": "duplicate_key",
        },
        {
            "name": "parse: NaN literal",
            "mode": "parse",
            "bytes": "[NaN]",
            "reason": "non_finite_number",
        },
        {
            "name": "parse: trailing data",
            "mode": "parse",
            "bytes": "{}{}",
            "reason": "invalid_json",
        },
        {"name": "parse: empty", "mode": "parse", "bytes": "", "reason": "invalid_json"},
        {
            "name": "parse: byte order mark",
            "mode": "parse",
            "bytes_hex": "efbbbf7b7d",
            "reason": "invalid_json",
        },
        {
            "name": "parse: invalid UTF-8",
            "mode": "parse",
            "bytes_hex": "22ff22",
            "reason": "invalid_json",
        },
        {
            "name": "parse: raw control character in a string",
            "mode": "parse",
            "bytes_hex": "220a22",
            "reason": "invalid_json",
        },
        {
            "name": "parse: lone surrogate escape",
            "mode": "parse",
            "bytes": '"\\ud800"',
            "reason": "lone_surrogate",
        },
    ]


SEEDS = [
    ("rfc8032 test 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    ("rfc8032 test 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"),
    ("rfc8032 test 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"),
    ("kvorum registry", sha256(b"kvorum test vector: registry key").hex()),
    ("kvorum member", sha256(b"kvorum test vector: member key").hex()),
]

PAYLOADS: list[tuple[str, dict[str, object]]] = [
    ("minimal", {"type": "kvorum.test", "v": 1}),
    (
        "ballot",
        {
            "type": "kvorum.ballot",
            "v": 1,
            "vote": 42,
            "definition": "sha256:" + sha256(b"vote 42").hex(),
            "key": 1001,
            "choice": "за",
            "nonce": "q1w2e3r4t5y6u7i8",
        },
    ),
    (
        "cyrillic and escapes",
        {
            "type": "kvorum.test",
            "v": 2,
            "text": 'Решение № 7 – 2\n«О цифровизации»\t"кавычки" \\ /\u2028',
            "emoji": "👍",
            "control": "\x00\x1f\x7f",
        },
    ),
    (
        "integers and nesting",
        {
            "type": "kvorum.test",
            "v": 1,
            "max": 9007199254740991,
            "min": -9007199254740991,
            "zero": 0,
            "list": [[], {}, [1, [2, [3]]], {"b": None, "a": True, "A": False}],
        },
    ),
    (
        "key certificate",
        {
            "type": "kvorum.key-certificate",
            "v": 1,
            "serial": 1001,
            "member": 17,
            "org": 7,
            "org_name": "Первичная профсоюзная организация",
            "public_key": "",
            "issued_at": "2025-01-15T09:00:00Z",
            "expires_at": "2026-01-15T09:00:00Z",
            "issuer": "",
        },
    ),
]


def ed25519_vectors() -> list[dict[str, object]]:
    vectors: list[dict[str, object]] = []
    for (seed_name, seed_hex), (payload_name, template) in (
        (seed, payload) for seed in SEEDS for payload in PAYLOADS
    ):
        key = SigningKey.from_seed(bytes.fromhex(seed_hex))
        payload = dict(template)
        if payload_name == "key certificate":
            payload["public_key"] = key.public_key.b64u
            payload["issuer"] = key.public_key.key_id
        canonical = canonicalize_signed(payload)
        vectors.append(
            {
                "name": f"{seed_name} / {payload_name}",
                "seed": seed_hex,
                "public_key": key.public_key.b64u,
                "key_id": key.public_key.key_id,
                "payload": payload,
                "canonical": canonical.decode(),
                "signature": b64u_encode(key.sign(canonical)),
            }
        )
    return vectors


def _input(vector: dict[str, object]) -> object:
    if "input_json" in vector:
        return json.loads(str(vector["input_json"]))
    if "input_ieee754" in vector:
        return struct.unpack(">d", bytes.fromhex(str(vector["input_ieee754"])))[0]
    return vector["input"]


def render(vectors: list[dict[str, object]]) -> str:
    """The stored text of a vector file (stable, so regeneration is diffable)."""
    return json.dumps(vectors, ensure_ascii=False, indent=1) + "\n"


def files() -> dict[str, str]:
    return {
        "canonical.json": render(canonical_vectors()),
        "invalid.json": render(invalid_vectors()),
        "ed25519.json": render(ed25519_vectors()),
    }


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, text in files().items():
        (VECTORS / name).write_text(text, encoding="utf-8")
        print(f"wrote {VECTORS / name}")


if __name__ == "__main__":
    main()
