#!/usr/bin/env python3
"""Independent reference implementation of docs/protocol.md (otpknock protocol v1).

Written from the spec text alone, deliberately naive (it builds the pool as a list
and removes chosen ports), using only the Python standard library.

    python3 docs/reference/otpknock_ref.py docs/test-vectors.json

checks every vector and exits 0 only if all of them match.
"""
import base64
import hashlib
import hmac
import json
import struct
import sys

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def decode_secret(text):
    """Section 1: base32, any case, whitespace and trailing '=' ignored, >= 16 bytes."""
    s = "".join(text.split()).rstrip("=").upper()
    bits, acc, out = 0, 0, bytearray()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for i, ch in enumerate(s):
        v = alphabet.find(ch)
        if v < 0:
            raise ValueError("invalid base32 character %r at %d" % (ch, i + 1))
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if len(out) < 16:
        raise ValueError("secret shorter than 128 bits")
    # Cross-check with the standard library where padding makes that possible.
    if len(s) % 8 in (0, 2, 4, 5, 7):
        padded = s + "=" * (-len(s) % 8)
        assert base64.b32decode(padded) == bytes(out)
    return bytes(out)


def window_of(time_ms, period):
    """Section 3."""
    return (time_ms // 1000) // period


def dt(d):
    """RFC 4226 dynamic truncation."""
    o = d[-1] & 0x0F
    return ((d[o] & 0x7F) << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]


def pool_of(profile):
    """Section 4."""
    if profile["method"] == "list-modulo":
        return list(profile["ports"])
    excl = set(profile["exclude"])
    r = profile["range"]
    return [p for p in range(r["min"], r["max"] + 1) if p not in excl]


def hotp_values(key, profile, w):
    """Sections 5.1 and 5.2: v_j from HOTP at counter W*256 + j."""
    h = HASHES[profile["algorithm"]]
    j = 0
    while True:
        v = dt(hmac.new(key, struct.pack(">Q", w * 256 + j), h).digest())
        if profile["method"] == "list-modulo":
            v %= 1000000
        yield lambda m, v=v: v
        j += 1


def prng_values(key, w):
    """Section 5.3: HMAC-SHA256 counter-mode stream, big-endian u32 words, rejection sampling."""

    def words():
        b = 0
        while True:
            block = hmac.new(key, b"otpknock-prng-v1" + struct.pack(">QI", w, b), hashlib.sha256).digest()
            for k in range(8):
                yield struct.unpack(">I", block[4 * k: 4 * k + 4])[0]
            b += 1

    stream = words()

    def pick(m):
        limit = 2 ** 32 - (2 ** 32 % m)
        while True:
            x = next(stream)
            if x < limit:
                return x

    while True:
        yield pick


def token(key, w, n):
    """Section 6."""
    return hmac.new(key, b"otpknock-token-v1" + struct.pack(">Q", w), hashlib.sha256).digest()[:n]


def derive(profile, key, w):
    """Section 5: returns (open, close, token_or_None)."""
    method = profile["method"]
    if method == "static":
        w = 0  # section 5.4: a static profile always uses window 0
    tok = token(key, w, profile["tokenBytes"]) if profile.get("tokenBytes", 0) > 0 else None
    if method == "static":
        opn = list(profile["open"])
        return opn, (list(opn) if profile["toggle"] else list(profile["close"])), tok
    L = profile["length"]
    remaining = pool_of(profile)
    values = prng_values(key, w) if method == "prng" else hotp_values(key, profile, w)
    picks = []
    for j in range(2 * L):
        m = len(remaining)  # = P - j
        value = next(values)
        i = value(m) % m
        picks.append(remaining.pop(i))
    return picks[:L], picks[L:], tok


def check(path):
    with open(path) as f:
        doc = json.load(f)
    failures = 0
    for v in doc["vectors"]:
        p = v["profile"]
        key = decode_secret(v["secret"])
        w = v["window"]
        if "timeMs" in v and window_of(v["timeMs"], p["period"]) != w:
            print("FAIL %s: window %d != %d" % (v["name"], window_of(v["timeMs"], p["period"]), w))
            failures += 1
            continue
        opn, cls, tok = derive(p, key, w)
        got_tok = tok.hex() if tok is not None else None
        if opn != v["open"] or cls != v["close"] or got_tok != v.get("token"):
            print("FAIL %s: got open=%s close=%s token=%s" % (v["name"], opn, cls, got_tok))
            failures += 1
        else:
            print("ok   %s" % v["name"])
    print("%d/%d vectors confirmed" % (len(doc["vectors"]) - failures, len(doc["vectors"])))
    return failures == 0


def self_test():
    """RFC 4226 appendix D sanity check of the HOTP layer."""
    key = b"12345678901234567890"
    expect = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489]
    for c, code in enumerate(expect):
        assert dt(hmac.new(key, struct.pack(">Q", c), hashlib.sha1).digest()) % 10 ** 6 == code


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: otpknock_ref.py docs/test-vectors.json", file=sys.stderr)
        sys.exit(2)
    self_test()
    sys.exit(0 if check(sys.argv[1]) else 1)
