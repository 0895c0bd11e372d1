#!/usr/bin/env python3
"""Independent reference implementation of docs/protocol.md (otpknock protocol v1).

Written from the spec text alone, deliberately naive (it builds the pool as a list
and removes chosen ports), using only the Python standard library.

    python3 docs/reference/otpknock_ref.py docs/test-vectors.json

checks every vector (derivations, code mode and otpauth:// URIs) and exits 0 only if all of
them match. The URI reader applies the rules of section 7, not the profile checks
of section 2 (it fills in defaults but does not validate).
"""
import base64
import hashlib
import hmac
import json
import re
import struct
import sys
import urllib.parse

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def decode_secret(text):
    """Section 1: base32, any case, whitespace and trailing '=' ignored, 16 to 64 bytes."""
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
    if len(out) > 64:
        raise ValueError("secret longer than 512 bits")
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


def code_mode_open(profile, key, w):
    """Section 10: the window's authenticator-app code and the open sequence it keys."""
    h = HASHES[profile["algorithm"]]
    code = "%06d" % (dt(hmac.new(key, struct.pack(">Q", w), h).digest()) % 10 ** 6)
    p = dict(profile, method="time", exclude=[], ports=[], open=[], close=[], toggle=False, tokenBytes=0)
    opn, _close, _token = derive(p, b"otpknock-code-v1:" + code.encode("ascii"), w)
    return code, opn


def check_code_mode(doc):
    failures = 0
    for v in doc.get("codeMode", []):
        code, opn = code_mode_open(v["profile"], decode_secret(v["secret"]), v["window"])
        if code != v["code"] or opn != v["open"]:
            print("FAIL code mode %s: got code=%s open=%s" % (v["name"], code, opn))
            failures += 1
        else:
            print("ok   code mode %s" % v["name"])
    return failures


class UriError(ValueError):
    """A URI a reader must refuse; .param names the parameter (or "type", "label")."""

    def __init__(self, param):
        super().__init__(param)
        self.param = param


def percent_decode_strict(text, param):
    """Section 7, the label: %XX are bytes, decoded as UTF-8; anything malformed is an error."""
    raw = text.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25:  # '%'
            hexdigits = raw[i + 1: i + 3]
            if len(hexdigits) < 2 or not all(c in b"0123456789abcdefABCDEF" for c in hexdigits):
                raise UriError(param)
            out.append(int(hexdigits, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise UriError(param)


def uri_ports(param, value):
    if value.strip() == "":
        return []
    ports = []
    for item in value.split(","):
        if not re.fullmatch(r"[0-9]{1,5}", item.strip()):
            raise UriError(param)
        ports.append(int(item.strip()))
    return ports


def uri_number(param, value):
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise UriError(param)
    return int(value)


def check_label(param, text):
    """Section 7: an issuer or account has at most 128 characters, no ':' and no control characters."""
    if len(text) > 128 or ":" in text or re.search("[\x00-\x1f\x7f-\x9f]", text):
        raise UriError(param)


def parse_uri(uri):
    """Section 7: returns (issuer, account, secret bytes, complete profile, host, port)."""
    if len(uri) > 16384:
        raise UriError("uri")
    uri = uri.strip()
    m = re.match(r"(?i)otpauth://([^/?#]*)/?([^?#]*)", uri)
    if not m:
        raise UriError("uri")
    if m.group(1).lower() != "totp":
        raise UriError("type")
    label = percent_decode_strict(m.group(2), "label")
    issuer, colon, account = label.partition(":")
    if not colon:
        issuer, account = "", label
    issuer, account = issuer.strip(), account.strip()
    check_label("label", account)
    query = urllib.parse.urlsplit(uri).query
    params = {}
    # application/x-www-form-urlencoded: '+' is a space, %XX a byte, UTF-8 (invalid -> U+FFFD),
    # a '%' without two hex digits stands for itself; names are decoded too.
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True, errors="replace"):
        if name in params:
            raise UriError(name)
        params[name] = value
    if params.get("secret", "") == "":
        raise UriError("secret")
    secret = decode_secret(params["secret"])
    if params.get("digits", "6") != "6":
        raise UriError("digits")
    profile = {"method": params.get("method", "time"), "length": 3, "period": 30, "algorithm": "SHA1",
               "range": {"min": 10000, "max": 65000}, "exclude": [], "ports": [], "open": [], "close": [],
               "toggle": False, "tokenBytes": 0}
    if "algorithm" in params:
        profile["algorithm"] = params["algorithm"].upper().replace("-", "", 1)
    for key in ("period", "length", "tokenBytes"):
        if key in params:
            profile[key] = uri_number(key, params[key])
    if "range" in params:
        r = re.fullmatch(r"\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*", params["range"])
        if not r:
            raise UriError("range")
        profile["range"] = {"min": int(r.group(1)), "max": int(r.group(2))}
    for key in ("exclude", "ports", "open", "close"):
        if key in params:
            profile[key] = uri_ports(key, params[key])
    profile["exclude"] = sorted(set(profile["exclude"]))
    if "toggle" in params:
        if params["toggle"] not in ("1", "0", "true", "false"):
            raise UriError("toggle")
        profile["toggle"] = params["toggle"] in ("1", "true")
    if profile["toggle"]:
        profile["close"] = list(profile["open"])
    if "issuer" in params:
        issuer = params["issuer"]
    check_label("issuer" if "issuer" in params else "label", issuer)
    port = uri_number("port", params["port"]) if "port" in params else None
    return issuer, account, secret, profile, params.get("host"), port


def check_uris(doc):
    failures = 0
    for v in doc.get("uris", []):
        try:
            issuer, account, secret, profile, host, port = parse_uri(v["uri"])
            got = {"issuer": issuer, "account": account, "secret": base64.b32encode(secret).decode().rstrip("="),
                   "profile": profile}
            if host is not None:
                got["host"] = host
            if port is not None:
                got["port"] = port
        except UriError as e:
            got = {"error": e.param}
        want = {k: x for k, x in v.items() if k not in ("name", "uri")}
        if got != want:
            print("FAIL uri %s: got %s" % (v["name"], json.dumps(got)))
            failures += 1
        else:
            print("ok   uri %s" % v["name"])
    return failures


def fleet_key(key, fleet, server):
    """Section 12: the key of a person on one server of a fleet."""
    f, srv = fleet.encode("ascii"), server.encode("ascii")
    msg = b"otpknock-fleet-v1" + bytes([len(f)]) + f + bytes([len(srv)]) + srv
    return hmac.new(key, msg, hashlib.sha256).digest()


def check_fleet(doc):
    failures = 0
    for v in doc.get("fleet", []):
        k = fleet_key(decode_secret(v["secret"]), v["fleet"], v["server"])
        opn, cls, _tok = derive(v["profile"], k, v["window"])
        if k.hex() != v["keyHex"] or decode_secret(v["key"]) != k or opn != v["open"] or cls != v["close"]:
            print("FAIL fleet %s: got key=%s open=%s close=%s" % (v["name"], k.hex(), opn, cls))
            failures += 1
        else:
            print("ok   fleet %s" % v["name"])
    return failures


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
    code_failures = check_code_mode(doc)
    print("%d/%d code-mode vectors confirmed" % (len(doc.get("codeMode", [])) - code_failures, len(doc.get("codeMode", []))))
    uri_failures = check_uris(doc)
    print("%d/%d URIs confirmed" % (len(doc.get("uris", [])) - uri_failures, len(doc.get("uris", []))))
    fleet_failures = check_fleet(doc)
    print("%d/%d fleet keys confirmed" % (len(doc.get("fleet", [])) - fleet_failures, len(doc.get("fleet", []))))
    return failures == 0 and code_failures == 0 and uri_failures == 0 and fleet_failures == 0


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
