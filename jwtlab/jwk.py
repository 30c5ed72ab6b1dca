"""Keys as JSON: JWK, JWK Sets and thumbprints (RFC 7517, RFC 7518 §6, RFC 7638, RFC 8037 §2).

A JSON Web Key is a JSON object describing one key (RFC 7517 §4); its ``kty`` says
which family (RFC 7518 §6.1) and decides the other members:

=======  =====================================  ==========================
``kty``  members (public; private adds ...)      spec
=======  =====================================  ==========================
``RSA``  ``n``, ``e``; ``d p q dp dq qi``        RFC 7518 §6.3
``EC``   ``crv``, ``x``, ``y``; ``d``            RFC 7518 §6.2
``OKP``  ``crv``, ``x``; ``d``                   RFC 8037 §2
``oct``  ``k`` (the secret)                      RFC 7518 §6.4
=======  =====================================  ==========================

Every number and byte string is base64url (big-endian, unsigned for integers). A JWK
Set is ``{"keys": [...]}`` (RFC 7517 §5); ``kid`` tells its keys apart. A thumbprint
(RFC 7638) hashes the required members in lexicographic order, no whitespace, so that
the same key always gets the same name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwtlab.algorithms import Key, KeyLike, KeyObject
from jwtlab.b64 import b64url_decode, b64url_encode
from jwtlab.errors import Base64urlError, InvalidKeyError, KeyNotFoundError, excerpt

__all__ = ["KeySet", "from_jwk", "key_set", "public_jwk", "thumbprint", "to_jwk"]

# RFC 7518 §6.2.1.1 curve names -> cryptography curves; RFC 8037 §2 OKP curves.
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
_EC_CURVE_NAMES = {curve().name: jose for jose, curve in _EC_CURVES.items()}
_OKP_KEY_TYPES: dict[
    str,
    tuple[
        type[ed25519.Ed25519PublicKey | ed448.Ed448PublicKey],
        type[ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey],
        int,
    ],
] = {
    "Ed25519": (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey, 32),
    "Ed448": (ed448.Ed448PublicKey, ed448.Ed448PrivateKey, 57),
}
# RFC 7638 §3.2 (RSA, EC, oct) and RFC 8037 §2 (OKP): the members a thumbprint hashes.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "oct": ("k", "kty"),
    "OKP": ("crv", "kty", "x"),
}


def _int_to_b64(value: int) -> str:
    """Base64urlUInt (RFC 7518 §2): big-endian, the minimum number of octets."""
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


# Messages about these members never show their value: they are the secret.
SECRET_MEMBERS = frozenset({"k", "d", "p", "q", "dp", "dq", "qi", "oth", "r", "t"})


def _member(jwk: dict[str, Any], name: str) -> bytes:
    kty = excerpt(jwk.get("kty"))
    if name not in jwk:
        needed = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")), ())  # from_jwk: kty is a str
        raise InvalidKeyError(f"the {kty} JWK has no {name!r} member; {kty} keys need {needed}")
    value = jwk[name]
    if not isinstance(value, str):
        raise InvalidKeyError(
            f"JWK member {name!r} must be a base64url string, not a {type(value).__name__}"
        )
    try:
        return b64url_decode(value, what=f"JWK member {name!r}")
    except Base64urlError as error:
        if name in SECRET_MEMBERS:  # the message would quote a character of the secret
            raise InvalidKeyError(
                f"JWK member {name!r} is not strict unpadded base64url (RFC 7515 §2); "
                "its value is not shown because it is key material"
            ) from None
        raise InvalidKeyError(str(error)) from None


def _int_member(jwk: dict[str, Any], name: str) -> int:
    """A Base64urlUInt member (RFC 7518 §2): big-endian, in the fewest octets."""
    octets = _member(jwk, name)
    if len(octets) > 1 and octets[0] == 0:
        raise InvalidKeyError(
            f"JWK member {name!r} starts with a zero octet; a Base64urlUInt uses the minimum "
            "number of octets (RFC 7518 §2, §6.3.1.1), so the key was written by a "
            "non-conforming encoder: drop the leading zero octets"
        )
    return int.from_bytes(octets, "big")


def from_jwk(jwk: dict[str, Any] | str) -> Key:
    """A JWK (dict or JSON text) -> a ``cryptography`` key object, or ``bytes`` for ``oct``."""
    if isinstance(jwk, str | bytes):
        try:
            jwk = json.loads(jwk)
        except (ValueError, RecursionError):  # the message would quote the text: a secret
            raise InvalidKeyError("the JWK text is not valid JSON") from None
    if not isinstance(jwk, dict):
        raise InvalidKeyError(f"a JWK is a JSON object (a dict), not {type(jwk).__name__}")
    kty = jwk.get("kty")
    try:
        if kty == "oct":
            return _member(jwk, "k")
        if kty == "RSA":
            return _rsa_from_jwk(jwk)
        if kty == "EC":
            return _ec_from_jwk(jwk)
        if kty == "OKP":
            return _okp_from_jwk(jwk)
    except ValueError as error:
        if isinstance(error, InvalidKeyError):
            raise
        raise InvalidKeyError(
            f"the {excerpt(kty)} JWK does not describe a valid key: {error}"
        ) from None
    raise InvalidKeyError(
        f"unknown JWK kty {excerpt(kty)}; jwtlab reads 'RSA', 'EC', 'OKP' and 'oct' (RFC 7518 §6.1)"
    )


def _rsa_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPrivateKey | rsa.RSAPublicKey:
    public_numbers = rsa.RSAPublicNumbers(_int_member(jwk, "e"), _int_member(jwk, "n"))
    if "d" not in jwk:
        return public_numbers.public_key()
    d = _int_member(jwk, "d")
    if all(name in jwk for name in ("p", "q", "dp", "dq", "qi")):
        p, q = _int_member(jwk, "p"), _int_member(jwk, "q")
        dmp1, dmq1 = _int_member(jwk, "dp"), _int_member(jwk, "dq")
        iqmp = _int_member(jwk, "qi")
    else:  # RFC 7518 §6.3.2: the primes are optional; recover them from n, e, d
        p, q = rsa.rsa_recover_prime_factors(public_numbers.n, public_numbers.e, d)
        dmp1, dmq1, iqmp = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
    return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public_numbers).private_key()


def _ec_from_jwk(jwk: dict[str, Any]) -> ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey:
    crv = jwk.get("crv")
    if crv not in _EC_CURVES:
        raise InvalidKeyError(f"unknown EC crv {excerpt(crv)}; jwtlab reads {list(_EC_CURVES)}")
    curve = _EC_CURVES[crv]()
    size = (curve.key_size + 7) // 8
    coordinates = {name: _member(jwk, name) for name in ("x", "y")}
    for name, value in coordinates.items():
        if len(value) != size:  # RFC 7518 §6.2.1.2: "MUST be the full size"
            raise InvalidKeyError(
                f"EC {crv} coordinate {name!r} must be {size} bytes (RFC 7518 §6.2.1.2), "
                f"not {len(value)}"
            )
    public_numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(coordinates["x"], "big"), int.from_bytes(coordinates["y"], "big"), curve
    )
    if "d" not in jwk:
        return public_numbers.public_key()
    # EC d is fixed-size (RFC 7518 §6.2.2.1), so a leading zero octet is right here.
    private_value = int.from_bytes(_member(jwk, "d"), "big")
    return ec.EllipticCurvePrivateNumbers(private_value, public_numbers).private_key()


def _okp_from_jwk(
    jwk: dict[str, Any],
) -> (
    ed25519.Ed25519PrivateKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PrivateKey
    | ed448.Ed448PublicKey
):
    crv = jwk.get("crv")
    if crv not in _OKP_KEY_TYPES:
        raise InvalidKeyError(
            f"OKP crv {excerpt(crv)} is not a signature curve; jwtlab reads {list(_OKP_KEY_TYPES)} "
            "(RFC 8037 §2)"
        )
    public_type, private_type, _ = _OKP_KEY_TYPES[crv]
    if "d" in jwk:
        private_key = private_type.from_private_bytes(_member(jwk, "d"))
        if "x" in jwk and _member(jwk, "x") != _raw_public(private_key.public_key()):
            raise InvalidKeyError(f"the {crv} JWK's x is not the public key of its d")
        return private_key
    return public_type.from_public_bytes(_member(jwk, "x"))


def _raw_public(key: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def to_jwk(
    key: KeyObject | bytes | bytearray | str, *, kid: str | None = None, **members: Any
) -> dict[str, Any]:
    """A key object (or a secret as ``bytes``/``str``) -> its JWK dict.

    A private key gives a private JWK (public members plus ``d`` ...); use
    :func:`public_jwk` for what may be published. ``kid`` and any other ``members``
    (``alg="RS256"``, ``use="sig"``) are added at the end.
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    if isinstance(key, bytes | bytearray):
        jwk: dict[str, Any] = {"kty": "oct", "k": b64url_encode(bytes(key))}
    elif isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        jwk = _rsa_to_jwk(key)
    elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        jwk = _ec_to_jwk(key)
    elif isinstance(
        key,
        ed25519.Ed25519PrivateKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PrivateKey
        | ed448.Ed448PublicKey,
    ):
        jwk = _okp_to_jwk(key)
    else:
        raise InvalidKeyError(f"cannot write a {type(key).__name__} as a JWK")
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(members)
    return jwk


def _rsa_to_jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> dict[str, Any]:
    public_key = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    public_numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "n": _int_to_b64(public_numbers.n), "e": _int_to_b64(public_numbers.e)}
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        for name, value in (
            ("d", numbers.d),
            ("p", numbers.p),
            ("q", numbers.q),
            ("dp", numbers.dmp1),
            ("dq", numbers.dmq1),
            ("qi", numbers.iqmp),
        ):
            jwk[name] = _int_to_b64(value)
    return jwk


def _ec_to_jwk(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> dict[str, Any]:
    public_key = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    public_numbers = public_key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    jwk = {
        "kty": "EC",
        "crv": _EC_CURVE_NAMES[key.curve.name],
        "x": b64url_encode(public_numbers.x.to_bytes(size, "big")),
        "y": b64url_encode(public_numbers.y.to_bytes(size, "big")),
    }
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk["d"] = b64url_encode(key.private_numbers().private_value.to_bytes(size, "big"))
    return jwk


def _okp_to_jwk(
    key: ed25519.Ed25519PrivateKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PrivateKey
    | ed448.Ed448PublicKey,
) -> dict[str, Any]:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    crv = (
        "Ed25519"
        if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)
        else "Ed448"
    )
    public_key = (
        key.public_key()
        if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        else key
    )
    jwk = {"kty": "OKP", "crv": crv, "x": b64url_encode(_raw_public(public_key))}
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        jwk["d"] = b64url_encode(raw)
    return jwk


def public_jwk(
    key: KeyObject | dict[str, Any], *, kid: str | None = None, **members: Any
) -> dict[str, Any]:
    """The public JWK of a key object or a private JWK dict: what may be published."""
    key_object = from_jwk(key) if isinstance(key, dict) else key
    if isinstance(key_object, bytes | bytearray | str):
        raise InvalidKeyError("a shared secret has no public half; never publish it")
    if hasattr(key_object, "public_key"):
        key_object = key_object.public_key()
    return to_jwk(key_object, kid=kid, **members)


def thumbprint(key: KeyLike, hash_name: str = "sha256") -> str:
    """The JWK Thumbprint of a key (RFC 7638 §3), base64url-encoded.

    Only the required members count, in lexicographic order, as JSON with no whitespace;
    so a private key and its public key have the same thumbprint.
    """
    jwk = key if isinstance(key, dict) else to_jwk(key)
    kty = jwk.get("kty")
    if kty not in _THUMBPRINT_MEMBERS:
        raise InvalidKeyError(f"no thumbprint for JWK kty {excerpt(kty)} (RFC 7638 §3.2)")
    required = {}
    for name in _THUMBPRINT_MEMBERS[kty]:
        if name not in jwk:
            raise InvalidKeyError(f"the {kty} JWK lacks {name!r}, needed for its thumbprint")
        required[name] = jwk[name]
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url_encode(hashlib.new(hash_name, canonical.encode("utf-8")).digest())


class KeySet:
    """A JWK Set (RFC 7517 §5): keys told apart by ``kid``.

    >>> keys = KeySet([to_jwk(b"0" * 32, kid="2026-01")])
    >>> keys.find("2026-01")["kty"]
    'oct'
    """

    def __init__(self, keys: Iterable[dict[str, Any]]) -> None:
        self.keys = [dict(jwk) for jwk in keys]
        for jwk in self.keys:
            if not isinstance(jwk.get("kty"), str):
                raise InvalidKeyError(
                    f"every key in a JWK Set needs a kty; the key with kid "
                    f"{excerpt(jwk.get('kid'))} has none (its members: {sorted(jwk)})"
                )

    @classmethod
    def from_dict(cls, jwks: dict[str, Any] | str) -> KeySet:
        """Read ``{"keys": [...]}`` (a dict or its JSON text)."""
        if isinstance(jwks, str):
            try:
                jwks = json.loads(jwks)
            except (ValueError, RecursionError):  # the message would quote the text
                raise InvalidKeyError("the JWK Set text is not valid JSON") from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidKeyError('a JWK Set is a JSON object {"keys": [...]} (RFC 7517 §5)')
        return cls(jwks["keys"])

    def find(self, kid: str) -> dict[str, Any]:
        """The key whose ``kid`` is ``kid``; :class:`KeyNotFoundError` if none is."""
        for jwk in self.keys:
            if jwk.get("kid") == kid:
                return jwk
        known = [jwk.get("kid") for jwk in self.keys]
        raise KeyNotFoundError(
            f"no key in the key set has kid {excerpt(kid)} (known: {excerpt(known, 120)}); the "
            "key may have been rotated out, or the token comes from another issuer"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"keys": [dict(jwk) for jwk in self.keys]}

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.keys)

    def __repr__(self) -> str:
        return f"KeySet(kids={[jwk.get('kid') for jwk in self.keys]})"


def key_set(
    keys: Iterable[KeyObject | dict[str, Any] | bytes | str], *, public: bool = True
) -> KeySet:
    """A :class:`KeySet` from key objects or JWKs; each gets ``kid`` = its thumbprint if it
    has none.

    With ``public=True`` (the default) only public halves go in: what a JWKS endpoint
    serves. A shared secret (an ``oct`` JWK, or bytes/str) has no public half, so it is
    refused with :class:`InvalidKeyError` rather than published; build a private set
    of secrets with ``public=False`` (a verifier's own key store, never served).
    """
    jwks = []
    for position, key in enumerate(keys):
        jwk = dict(key) if isinstance(key, dict) else to_jwk(key)
        if public and jwk.get("kty") == "oct":
            raise InvalidKeyError(
                f"key {position} (kid {excerpt(jwk.get('kid'))}) is a shared secret (kty "
                "'oct'): it has no public half, and publishing it would let anyone sign "
                "tokens. Leave it out of the published set, or pass public=False for a "
                "private key store"
            )
        if public:
            extra = {name: jwk[name] for name in ("kid", "alg", "use") if name in jwk}
            jwk = public_jwk(jwk, **extra)
        jwk.setdefault("kid", thumbprint(jwk))
        jwks.append(jwk)
    return KeySet(jwks)
