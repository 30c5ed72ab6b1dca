"""Round trips both ways with PyJWT, every algorithm, over generated claim sets."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt_keys import ALL_ALGORITHMS, keys_for

import jwtlab

NOW = 1_767_261_600
DETERMINISTIC = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "EdDSA"}

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
private_claims = st.dictionaries(
    st.text(max_size=12).filter(lambda name: name not in jwtlab.claims.REGISTERED_CLAIMS),
    json_values,
    max_size=5,
)
claim_sets = st.builds(
    lambda extra, sub, lifetime, iss: {
        **extra,
        **({"sub": sub} if sub is not None else {}),
        **({"iss": iss} if iss is not None else {}),
        "iat": NOW,
        "exp": NOW + lifetime,
    },
    private_claims,
    st.none() | st.text(max_size=10),
    st.integers(1, 10**6),
    st.none() | st.text(max_size=10),
)

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
@SETTINGS
@given(claims=claim_sets)
def test_jwtlab_tokens_are_read_by_pyjwt(alg, claims):
    signing_key, verifying_key = keys_for(alg)
    token = jwtlab.encode(claims, signing_key, algorithm=alg)
    options = {"verify_exp": False, "verify_iat": False}
    assert pyjwt.decode(token, verifying_key, algorithms=[alg], options=options) == claims
    if alg in DETERMINISTIC:
        assert token == pyjwt.encode(claims, signing_key, algorithm=alg)


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
@SETTINGS
@given(claims=claim_sets)
def test_pyjwt_tokens_are_read_by_jwtlab(alg, claims):
    signing_key, verifying_key = keys_for(alg)
    token = pyjwt.encode(claims, signing_key, algorithm=alg)
    assert jwtlab.decode(token, verifying_key, [alg], now=NOW) == claims
    full = jwtlab.decode_complete(token, verifying_key, [alg], now=NOW)
    assert full["header"] == pyjwt.get_unverified_header(token)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "HS256"])
def test_jwk_forms_interoperate(alg):
    signing_key, verifying_key = keys_for(alg)
    signing_jwk = jwtlab.jwk.to_jwk(signing_key)
    verifying_jwk = jwtlab.jwk.to_jwk(verifying_key)
    token = jwtlab.encode({"a": 1}, signing_jwk, algorithm=alg)
    assert pyjwt.decode(token, pyjwt.PyJWK(verifying_jwk, alg), algorithms=[alg]) == {"a": 1}
    assert jwtlab.decode(token, verifying_jwk, [alg]) == {"a": 1}
