"""The algorithm families behind prepare_key / sign / verify (RFC 7518 §3, RFC 8037)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_keys import ALL_ALGORITHMS, ec_key, keys_for

import jwtlab
from jwtlab.algorithms import ALGORITHMS, describe_key, get_algorithm, is_none_algorithm


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_sign_then_verify_and_a_flipped_bit_fails(alg):
    algorithm = ALGORITHMS[alg]
    private, public = keys_for(alg)
    signature = algorithm.sign(b"signing input", algorithm.prepare_key(private))
    verifying_key = algorithm.prepare_key(public)
    assert algorithm.verify(b"signing input", verifying_key, signature)
    assert not algorithm.verify(b"signing inpuT", verifying_key, signature)
    assert algorithm.description


@pytest.mark.parametrize(("alg", "size"), [("ES256", 64), ("ES384", 96), ("ES512", 132)])
def test_ecdsa_signatures_are_raw_r_s_of_fixed_size(alg, size):
    signature = ALGORITHMS[alg].sign(b"x", ec_key(alg))
    assert len(signature) == size


def test_ec_curve_must_match_the_algorithm():
    with pytest.raises(jwtlab.InvalidKeyError, match="needs a key on P-384"):
        ALGORITHMS["ES384"].prepare_key(ec_key("ES256"))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_signing_needs_the_private_key(alg):
    algorithm = ALGORITHMS[alg]
    with pytest.raises(jwtlab.InvalidKeyError, match="private"):
        algorithm.sign(b"x", algorithm.prepare_key(keys_for(alg)[1]))


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_verifying_with_a_key_of_another_family_says_so(alg):
    # sign/verify take a prepared key; one of another family is named, not a TypeError
    algorithm = ALGORITHMS[alg]
    other_family = keys_for("ES256")[1] if alg == "HS256" else b"k" * 32
    with pytest.raises(jwtlab.InvalidKeyError, match="verifies with"):
        algorithm.verify(b"x", other_family, b"\x01" * 64)


def test_pem_keys_are_read_and_cached():
    private, public = keys_for("RS256")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = jwtlab.encode({"a": 1}, private_pem, algorithm="RS256")
    assert jwtlab.decode(token, public_pem.decode(), ["RS256"]) == {"a": 1}
    with pytest.raises(jwtlab.InvalidKeyError, match="could not read the PEM key"):
        ALGORITHMS["RS256"].prepare_key(
            b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"
        )


def test_ssh_public_key_is_read_for_rsa_and_refused_as_a_secret():
    public = keys_for("RS256")[1]
    ssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert ALGORITHMS["RS256"].prepare_key(ssh).public_numbers() == public.public_numbers()
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="as OpenSSH text"):
        ALGORITHMS["HS256"].prepare_key(ssh)


def test_small_rsa_keys_need_the_opt_in():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(jwtlab.WeakKeyError, match="at least 2048 bits"):
        jwtlab.encode({"a": 1}, small, algorithm="RS256")
    token = jwtlab.encode({"a": 1}, small, algorithm="RS256", allow_weak_key=True)
    assert jwtlab.decode(token, small.public_key(), ["RS256"], allow_weak_key=True) == {"a": 1}


def test_hmac_compares_in_constant_time(monkeypatch):
    calls = []
    import hmac

    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    algorithm = ALGORITHMS["HS256"]
    assert algorithm.verify(b"x", b"k" * 32, algorithm.sign(b"x", b"k" * 32))
    assert calls == [1]


def test_helpers():
    assert (
        is_none_algorithm("NoNe") and not is_none_algorithm("HS256") and not is_none_algorithm(None)
    )
    assert describe_key(b"abc") == "a 3-byte secret"
    assert describe_key(keys_for("RS256")[1]) == "an RSA public key (2048 bits)"
    assert describe_key({"kty": "EC"}) == "a JWK with kty 'EC'"
    with pytest.raises(ValueError, match="jwtlab implements HS256"):
        get_algorithm("RS1")
    with pytest.raises(ValueError, match="does not make unsecured tokens"):
        jwtlab.encode({}, b"k" * 32, algorithm="none")
    with pytest.raises(jwtlab.InvalidKeyError, match="not int"):
        ALGORITHMS["HS256"].prepare_key(42)


# --- one key classifier: no encoding of a public key is an HMAC secret (issue 11) ---------


def _certificate(private_key):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwtlab test")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )


def _public_key_encodings() -> dict[str, bytes]:
    """The RSA test key's public half written every way a server might store it."""
    import base64
    import json

    from jwtlab import jwk

    private = keys_for("RS256")[0]
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    certificate = _certificate(private)
    rfc4716 = (
        b"---- BEGIN SSH2 PUBLIC KEY ----\nComment: test\n"
        + base64.encodebytes(base64.b64decode(ssh.split()[1]))
        + b"---- END SSH2 PUBLIC KEY ----\n"
    )
    return {
        "PEM": pem,
        "PEM after a UTF-8 BOM": b"\xef\xbb\xbf" + pem,
        "PEM after CRLF and spaces": b"\r\n  " + pem.replace(b"\n", b"\r\n"),
        "PEM after a label": b"server key:\n" + pem,
        "PEM in UTF-16": pem.decode().encode("utf-16"),
        "PKCS#1 PEM": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "DER": der,
        "PKCS#1 DER": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        ),
        "base64 of DER (a PEM body)": base64.b64encode(der),
        "base64url of DER": base64.urlsafe_b64encode(der).rstrip(b"="),
        "hex of DER": der.hex().encode(),
        "JWK JSON text": json.dumps(jwk.public_jwk(public)).encode(),
        "JWK Set JSON text": json.dumps({"keys": [jwk.public_jwk(public)]}).encode(),
        "OpenSSH public key": ssh,
        "authorized_keys line": b'from="10.0.0.1" ' + ssh + b" alice@laptop",
        "RFC 4716 SSH2 public key": rfc4716,
        "certificate PEM": certificate.public_bytes(serialization.Encoding.PEM),
        "certificate DER": certificate.public_bytes(serialization.Encoding.DER),
        "private key PEM": private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "OpenSSH private key": private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    }


ENCODINGS = _public_key_encodings()


def _as_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # DER and UTF-16 have no str form
        return None


KEY_FORMS = [(name, data) for name, data in ENCODINGS.items()] + [
    (f"{name} as str", _as_text(data)) for name, data in ENCODINGS.items() if _as_text(data)
]


@pytest.mark.parametrize(("encoding", "key"), KEY_FORMS, ids=[name for name, _ in KEY_FORMS])
def test_no_encoding_of_an_rsa_key_is_accepted_as_an_hmac_secret(encoding, key):
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="algorithm-confusion"):
        ALGORITHMS["HS256"].prepare_key(key)
    with pytest.raises(jwtlab.AlgorithmConfusionError):
        jwtlab.encode({"a": 1}, key, algorithm="HS256")
    forged = jwtlab.encode({"a": 1}, b"x" * 32)  # any HS256 token: the key is refused first
    with pytest.raises(jwtlab.InvalidTokenError):
        jwtlab.decode(forged, key, ["HS256"])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_jwtlab_refuses_every_public_key_encoding_pyjwt_refuses(encoding):
    from jwt.algorithms import HMACAlgorithm
    from jwt.exceptions import InvalidKeyError as PyJWTInvalidKeyError

    key = ENCODINGS[encoding]
    try:
        HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)
        pyjwt_refuses = False
    except PyJWTInvalidKeyError:
        pyjwt_refuses = True
    jwtlab_refuses = False
    try:
        ALGORITHMS["HS256"].prepare_key(key)
    except jwtlab.AlgorithmConfusionError:
        jwtlab_refuses = True
    assert jwtlab_refuses >= pyjwt_refuses, f"PyJWT refuses {encoding} but jwtlab accepts it"
    assert jwtlab_refuses


@pytest.mark.parametrize(
    "encoding",
    [
        name
        for name in ENCODINGS
        if not any(word in name for word in ("private", "label", "Set", "authorized_keys"))
    ],
)
def test_the_asymmetric_path_reads_the_same_encodings(encoding):
    private = keys_for("RS256")[0]
    token = jwtlab.encode({"a": 1}, private, algorithm="RS256")
    assert jwtlab.decode(token, ENCODINGS[encoding], ["RS256"]) == {"a": 1}


@pytest.mark.parametrize(
    "secret",
    [b"s" * 32, "a passphrase of thirty-two chars!", bytes(range(32)), b"0" * 64, b"{" * 40],
)
def test_ordinary_secrets_are_still_secrets(secret):
    assert ALGORITHMS["HS256"].prepare_key(secret)
    assert describe_key(secret).endswith("-byte secret")


def test_the_high_s_twin_of_an_ecdsa_signature_is_accepted_as_documented():
    # Documented in jwtlab.token: ECDSA is malleable, (r, n - s) verifies too; PyJWT agrees.
    import jwt as pyjwt

    private, public = keys_for("ES256")
    token = jwtlab.encode({"a": 1}, private, algorithm="ES256")
    signing_input, _, signature_segment = token.rpartition(".")
    signature = jwtlab.b64url_decode(signature_segment)
    s = int.from_bytes(signature[32:], "big")
    twin_signature = signature[:32] + (ALGORITHMS["ES256"].order - s).to_bytes(32, "big")
    twin = f"{signing_input}.{jwtlab.b64url_encode(twin_signature)}"
    assert twin != token
    assert jwtlab.decode(twin, public, ["ES256"]) == {"a": 1}
    assert pyjwt.decode(twin, public, algorithms=["ES256"]) == {"a": 1}
