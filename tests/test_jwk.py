"""JWK conversion, key sets and thumbprints (RFC 7517, RFC 7518 §6, RFC 7638, RFC 8037)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_keys import ed448_key, keys_for

import jwtlab
from jwtlab import jwk


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES384", "ES512", "EdDSA", "HS256"])
def test_to_jwk_and_back_signs_the_same(alg):
    private, public = keys_for(alg)
    private_jwk, public_jwk = jwk.to_jwk(private), jwk.to_jwk(public)
    token = jwtlab.encode({"a": 1}, jwk.from_jwk(private_jwk), algorithm=alg)
    assert jwtlab.decode(token, public_jwk, [alg]) == {"a": 1}
    assert jwk.thumbprint(private_jwk) == jwk.thumbprint(public_jwk)


def test_public_jwk_drops_private_members():
    private, _ = keys_for("RS256")
    public = jwk.public_jwk(private, kid="k1", alg="RS256", use="sig")
    assert set(public) == {"kty", "n", "e", "kid", "alg", "use"}
    with pytest.raises(jwtlab.InvalidKeyError, match="never publish it"):
        jwk.public_jwk(b"secret")


def test_ed448_is_supported():
    token = jwtlab.encode({"a": 1}, ed448_key(), algorithm="EdDSA")
    assert jwtlab.decode(token, jwk.public_jwk(ed448_key()), ["EdDSA"]) == {"a": 1}


def test_rsa_private_jwk_without_primes_is_recovered():
    private, public = keys_for("RS256")
    full = jwk.to_jwk(private)
    minimal = {name: full[name] for name in ("kty", "n", "e", "d")}
    token = jwtlab.encode({"a": 1}, minimal, algorithm="RS256")
    assert jwtlab.decode(token, public, ["RS256"]) == {"a": 1}


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        ({"kty": "XYZ"}, "unknown JWK kty 'XYZ'"),
        ({"kty": "RSA", "e": "AQAB"}, "has no 'n' member"),
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "must be 32 bytes"),
        ({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"}, "unknown EC crv"),
        ({"kty": "OKP", "crv": "X25519", "x": "AA"}, "not a signature curve"),
        ({"kty": "oct", "k": "a=="}, "not strict unpadded base64url"),
        ({"kty": "oct", "k": 5}, "must be a base64url string"),
    ],
)
def test_bad_jwks_say_what_is_wrong(bad, phrase):
    with pytest.raises(jwtlab.InvalidKeyError, match=phrase):
        jwk.from_jwk(bad)


def test_jwk_alg_and_use_are_respected():
    private, _ = keys_for("ES256")
    with pytest.raises(jwtlab.InvalidKeyError, match="says alg 'ES384'"):
        jwtlab.encode({}, jwk.to_jwk(private, alg="ES384"), algorithm="ES256")
    with pytest.raises(jwtlab.InvalidKeyError, match="use 'enc', not 'sig'"):
        jwtlab.encode({}, jwk.to_jwk(private, use="enc"), algorithm="ES256")


def test_key_set_kids_default_to_thumbprints():
    keys = jwk.key_set(
        [keys_for("RS256")[0], keys_for("ES256")[1], {"kty": "oct", "k": "c2VjcmV0", "kid": "s"}],
        public=False,
    )
    kids = [entry["kid"] for entry in keys]
    assert kids[0] == jwk.thumbprint(keys_for("RS256")[1])
    assert kids[2] == "s"
    assert jwk.KeySet.from_dict(keys.as_dict()).find("s")["k"] == "c2VjcmV0"
    assert len(keys) == 3
    assert "KeySet(kids=" in repr(keys)


def test_key_set_without_kid_in_token():
    keys = jwk.key_set([keys_for("ES256")[0], keys_for("EdDSA")[0]])
    token = jwtlab.encode({"a": 1}, keys_for("ES256")[0], algorithm="ES256")
    with pytest.raises(jwtlab.KeyNotFoundError, match="has no kid"):
        jwtlab.decode(token, keys, ["ES256"])
    single = jwk.key_set([keys_for("ES256")[0]])
    assert jwtlab.decode(token, single, ["ES256"]) == {"a": 1}


def test_key_set_must_be_an_object_with_keys():
    with pytest.raises(jwtlab.InvalidKeyError, match='"keys"'):
        jwk.KeySet.from_dict({"key": []})


def test_thumbprint_of_small_rsa_key_objects():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert len(jwk.thumbprint(small)) == 43


# --- secrets stay secret (issue 11) ------------------------------------------------------


def test_a_published_key_set_refuses_shared_secrets():
    secret = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXg", "kid": "s"}
    with pytest.raises(jwtlab.InvalidKeyError, match="no public half") as caught:
        jwk.key_set([keys_for("RS256")[0], secret])
    assert secret["k"] not in str(caught.value)
    with pytest.raises(jwtlab.InvalidKeyError, match="shared secret"):
        jwk.key_set([b"s" * 32])  # a secret as bytes is refused too
    published = jwk.key_set([keys_for("RS256")[0], keys_for("ES256")[0], keys_for("EdDSA")[0]])
    for entry in published:
        assert not set(entry) & jwk.SECRET_MEMBERS, entry["kty"]


def _private_jwks():
    return [
        jwk.to_jwk(keys_for("RS256")[0]),
        jwk.to_jwk(keys_for("ES256")[0]),
        jwk.to_jwk(keys_for("EdDSA")[0]),
        jwk.to_jwk(b"a-shared-secret-of-32-bytes-long!"),
    ]


def _spoiled(value: str):
    """Ways a member can be wrong while still holding (most of) the secret."""
    return [value + "=", "+" + value[1:], value[:-1] + "!", " " + value, {"v": value}, [value]]


@pytest.mark.parametrize("private", _private_jwks(), ids=["RSA", "EC", "OKP", "oct"])
def test_no_error_message_contains_key_material(private):
    for name in sorted(set(private) & jwk.SECRET_MEMBERS):
        for bad in _spoiled(private[name]):
            broken = {**private, name: bad}
            try:
                jwk.from_jwk(broken)
                algorithm = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA", "oct": "HS256"}
                jwtlab.encode({"a": 1}, broken, algorithm=algorithm[private["kty"]])
            except jwtlab.InvalidKeyError as error:
                message = str(error)
            else:
                continue  # some spoilings still decode (cryptography checks the rest)
            for secret_name in jwk.SECRET_MEMBERS & set(private):
                fragment = private[secret_name][4:20]
                assert fragment not in message, f"{secret_name} leaked via {name}: {message}"


def test_a_key_set_member_without_kty_is_named_by_kid_not_shown():
    with pytest.raises(jwtlab.InvalidKeyError) as caught:
        jwk.KeySet([{"kid": "a", "k": "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3Qtc2hvdw"}])
    assert "c2VjcmV0" not in str(caught.value)
    with pytest.raises(jwtlab.InvalidKeyError) as caught:
        jwk.KeySet.from_dict('{"keys": [{"kty": "oct", "k": "c2VjcmV0LXZhbHVl"')
    assert "c2VjcmV0" not in str(caught.value)


def test_rsa_members_are_minimal_octets():
    public = jwk.public_jwk(keys_for("RS256")[0])
    padded = {**public, "n": jwtlab.b64url_encode(b"\x00" + jwtlab.b64url_decode(public["n"]))}
    with pytest.raises(jwtlab.InvalidKeyError, match="minimum number of octets"):
        jwk.from_jwk(padded)
    assert jwk.from_jwk(public).public_numbers().e == 65537
    zero_e = {**public, "e": jwtlab.b64url_encode(b"\x00\x01\x00\x01")}
    with pytest.raises(jwtlab.InvalidKeyError, match="RFC 7518 §2"):
        jwk.from_jwk(zero_e)
