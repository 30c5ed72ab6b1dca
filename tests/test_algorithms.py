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
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="OpenSSH public key"):
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
