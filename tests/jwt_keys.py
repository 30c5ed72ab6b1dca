"""Keys for the JWT tests, generated once per test session (RSA generation is slow)."""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

ALL_ALGORITHMS = (
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
)  # fmt: skip
SECRETS = {"HS256": b"s" * 32, "HS384": b"t" * 48, "HS512": b"u" * 64}
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(alg: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(_CURVES[alg]())


@functools.cache
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def ed448_key() -> ed448.Ed448PrivateKey:
    return ed448.Ed448PrivateKey.generate()


def keys_for(alg: str):
    """(signing key, verifying key) for ``alg``."""
    if alg in SECRETS:
        return SECRETS[alg], SECRETS[alg]
    if alg[:2] in ("RS", "PS"):
        private = rsa_key()
    elif alg in _CURVES:
        private = ec_key(alg)
    else:
        private = ed25519_key()
    return private, private.public_key()


def hmac_signed(header: bytes, payload: bytes, secret: bytes) -> str:
    """A compact JWS of any header and payload bytes, HMAC-SHA256-signed by hand: how the
    tests make validly signed tokens that jwtlab.encode would refuse to write."""
    import hashlib
    import hmac

    from jwtlab.b64 import b64url_encode

    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(mac)}"
