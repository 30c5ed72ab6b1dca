"""jwtlab vs PyJWT: encode and decode per algorithm, printed as ratios.

Run: ``python benchmarks/bench_jwt.py`` (``--quick`` for a short run). Each figure is the
minimum over ``timeit`` repeats of the time per call; the ratio is jwtlab / PyJWT, so
below 1 means jwtlab is faster. Both get the same keys (key objects for the asymmetric
algorithms, a 64-byte secret for HMAC) and the same claims; both check ``exp``.

Targets (issue 3): HS256 decode at most 0.5 of PyJWT's time; the asymmetric algorithms
within 5% (both are bound by OpenSSL).
"""

from __future__ import annotations

import sys
import time
import timeit

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import jwtlab

ALGORITHMS = [
    "HS256", "HS384", "HS512",
    "RS256", "PS256",
    "ES256", "ES384", "ES512",
    "EdDSA",
]  # fmt: skip


def keys_for(alg: str):
    """(signing key, verifying key) shared by both libraries."""
    if alg.startswith("HS"):
        secret = b"k" * 64
        return secret, secret
    if alg[:2] in ("RS", "PS"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg.startswith("ES"):
        curve = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[alg]
        private = ec.generate_private_key(curve())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return private, private.public_key()


def paired(ours, theirs, number: int, repeat: int) -> tuple[float, float]:
    """Seconds per call for each: the minimum over repeats, the two runs interleaved so
    that a busy machine slows both alike."""
    ours_runs, theirs_runs = [], []
    for _ in range(repeat):
        ours_runs.append(timeit.timeit(ours, number=number))
        theirs_runs.append(timeit.timeit(theirs, number=number))
    return min(ours_runs) / number, min(theirs_runs) / number


def measure(alg: str, claims: dict, quick: bool) -> dict[str, tuple[float, float]]:
    signing_key, verifying_key = keys_for(alg)
    repeat = 3 if quick else 9
    number = (2000 if quick else 20000) if alg.startswith("HS") else (100 if quick else 400)
    ours = jwtlab.encode(claims, signing_key, algorithm=alg)
    theirs = pyjwt.encode(claims, signing_key, algorithm=alg)
    assert jwtlab.decode(theirs, verifying_key, [alg]) == claims
    assert pyjwt.decode(ours, verifying_key, algorithms=[alg]) == claims
    return {
        "encode": paired(
            lambda: jwtlab.encode(claims, signing_key, algorithm=alg),
            lambda: pyjwt.encode(claims, signing_key, algorithm=alg),
            number,
            repeat,
        ),
        "decode": paired(
            lambda: jwtlab.decode(ours, verifying_key, [alg]),
            lambda: pyjwt.decode(ours, verifying_key, algorithms=[alg]),
            number,
            repeat,
        ),
    }


def main() -> None:
    quick = "--quick" in sys.argv
    claims = {"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 3600}
    rows = [(alg, measure(alg, claims, quick)) for alg in ALGORITHMS]
    print(f"{'alg':<6} {'op':<7} {'jwtlab µs':>10} {'PyJWT µs':>10} {'ratio':>7}")
    for alg, times in rows:
        for op, (ours_s, theirs_s) in times.items():
            print(
                f"{alg:<6} {op:<7} {ours_s * 1e6:>10.2f} {theirs_s * 1e6:>10.2f} "
                f"{ours_s / theirs_s:>7.2f}"
            )
    versions = f"jwtlab {jwtlab.__version__}, PyJWT {pyjwt.__version__}"
    print(f"\n{versions}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
