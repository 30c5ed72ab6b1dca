"""Signing and verifying: HS*, RS*, PS*, ES* and EdDSA (RFC 7518 §3, RFC 8037 §3.1).

One class per algorithm family behind PyJWT's small interface:

- ``prepare_key(key)`` turns what the caller gave (a secret, a PEM text, a
  ``cryptography`` key object or a JWK dict) into the key the family needs, or raises
  :class:`~jwtlab.errors.InvalidKeyError` saying what is wrong;
- ``sign(signing_input, key) -> signature``;
- ``verify(signing_input, key, signature) -> bool``.

=============  ========================================  =============
``alg``        what it is                                spec
=============  ========================================  =============
HS256/384/512  HMAC with SHA-2, a shared secret          RFC 7518 §3.2
RS256/384/512  RSASSA-PKCS1-v1_5 with SHA-2              RFC 7518 §3.3
ES256/384/512  ECDSA, P-256/P-384/P-521, raw ``r || s``  RFC 7518 §3.4
PS256/384/512  RSASSA-PSS, MGF1, salt = hash length      RFC 7518 §3.5
EdDSA          Ed25519 or Ed448                          RFC 8037 §3.1
=============  ========================================  =============

``none`` (RFC 7518 §3.6) is deliberately absent: an unsecured token proves nothing.
All cryptography is ``cryptography``'s (OpenSSL); this module only chooses and checks.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from jwtlab.errors import (
    AlgorithmConfusionError,
    InvalidKeyError,
    MalformedSignatureError,
    WeakKeyError,
    excerpt,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "ClassifiedKey",
    "ECAlgorithm",
    "HMACAlgorithm",
    "Key",
    "KeyLike",
    "KeyObject",
    "OKPAlgorithm",
    "RSAAlgorithm",
    "classify_key",
    "describe_key",
    "get_algorithm",
    "is_none_algorithm",
    "load_pem",
]

_PRIVATE_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)
_KEY_OBJECT_TYPES = (
    *_PRIVATE_KEY_TYPES,
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)

#: A ``cryptography`` key object of a family jwtlab signs or verifies with.
KeyObject: TypeAlias = (
    "rsa.RSAPrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePrivateKey"
    " | ec.EllipticCurvePublicKey | ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey"
    " | ed448.Ed448PrivateKey | ed448.Ed448PublicKey"
)
#: Every form of key the algorithms accept: a secret, a key as text or bytes (PEM, DER,
#: JWK JSON, OpenSSH), a key object, or a JWK dict.
KeyLike: TypeAlias = "str | bytes | bytearray | dict[str, Any] | KeyObject"
#: A key ready to use, as ``prepare_key`` returns it and ``sign``/``verify`` take it: the
#: secret's bytes for HS*, a key object for the others.
Key: TypeAlias = "bytes | KeyObject"
#: Whatever ``cryptography`` loads from a PEM, DER, OpenSSH text or certificate (DSA, X25519
#: ... too: the algorithms then say which kind they need), or ``bytes`` from an ``oct`` JWK.
_LoadedKey: TypeAlias = "bytes | PublicKeyTypes | PrivateKeyTypes"
#: What :class:`ClassifiedKey` keeps to load: a key object, a JWK, the key's bytes, or
#: nothing (a secret).
_KeySource: TypeAlias = "KeyObject | dict[str, Any] | bytes | None"


# --- what is this key? One classifier for every algorithm ---------------------------------

# Byte-order marks an editor may put before a PEM file (UTF-8, UTF-16 LE/BE).
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# "-----BEGIN PUBLIC KEY-----" and RFC 4716's "---- BEGIN SSH2 PUBLIC KEY ----".
_PEM_MARKER = re.compile(rb"----[- ]BEGIN ")
_OPENSSH_MARKERS = (
    b"ssh-rsa",
    b"ssh-dss",
    b"ssh-ed25519",
    b"ssh-ed448",
    b"ecdsa-sha2-",
    b"sk-ssh-ed25519@openssh.com",
    b"sk-ecdsa-sha2-",
    b"-cert-v01@openssh.com",
)
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/_=\s-]+")
_HEX_TEXT = re.compile(rb"[0-9A-Fa-f:\s]+")
# The shortest DER key jwtlab reads, an Ed25519 SubjectPublicKeyInfo, is 44 bytes.
_SHORTEST_DER_KEY = 44


@dataclass(frozen=True)
class ClassifiedKey:
    """What :func:`classify_key` found: a shared ``secret`` or an asymmetric key.

    ``encoding`` names the form it came in ("PEM", "DER", "JWK JSON text", ...), for
    messages; ``load()`` returns the ``cryptography`` key object of an asymmetric key.
    """

    kind: str  # "secret" or "asymmetric"
    encoding: str
    secret: bytes = b""
    source: _KeySource = None

    @property
    def is_asymmetric(self) -> bool:
        return self.kind == "asymmetric"

    def load(self) -> _LoadedKey:
        """The key object; :class:`InvalidKeyError` if the text cannot be read."""
        return _load_asymmetric(self.encoding, self.source)


def classify_key(key: object) -> ClassifiedKey:
    """Decide once what ``key`` is: a shared secret, or an asymmetric key in some encoding.

    Every algorithm asks this one function, so the HMAC path and the signature paths agree
    on what counts as a public key. Asymmetric: a key object; a JWK dict (unless ``oct``);
    bytes or text holding a PEM block anywhere (after a byte-order mark or any other
    prefix, including RFC 4716 SSH2 blocks), an OpenSSH key line, JWK or JWK Set JSON
    text, DER (a key or a certificate), or base64/hex of DER. Anything else is a secret.
    Only looks: nothing is parsed beyond what deciding needs.
    """
    if isinstance(key, _KEY_OBJECT_TYPES):
        return ClassifiedKey("asymmetric", "key object", source=key)
    if isinstance(key, dict):
        if key.get("kty") == "oct":
            return ClassifiedKey("secret", "oct JWK", source=key)
        return ClassifiedKey("asymmetric", f"JWK with kty {key.get('kty')!r}", source=key)
    if isinstance(key, str):
        try:
            raw = key.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidKeyError(
                "the key text holds a lone surrogate, so it is not Unicode text; pass the "
                "key as bytes"
            ) from None
    elif isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
    else:
        raise InvalidKeyError(
            f"a key is bytes, str, a JWK dict or a cryptography key object, not "
            f"{type(key).__name__}"
        )
    found = _asymmetric_encoding(raw)
    if found is not None:
        encoding, source = found
        return ClassifiedKey("asymmetric", encoding, source=source)
    return ClassifiedKey("secret", "secret", secret=raw)


def _asymmetric_encoding(raw: bytes) -> tuple[str, bytes | dict[str, Any]] | None:
    """(encoding, what to load) if ``raw`` holds an asymmetric key, else None."""
    text = raw.strip()
    while text.startswith(_BYTE_ORDER_MARKS):
        text = text[2 if text[:2] in (b"\xff\xfe", b"\xfe\xff") else 3 :].lstrip()
    if b"\x00" in text:  # UTF-16 text (Windows editors): look at it as UTF-8
        try:
            widened = text.decode("utf-16").encode("utf-8")
        except UnicodeError:
            widened = b""
        if _PEM_MARKER.search(widened) or any(m in widened for m in _OPENSSH_MARKERS):
            return _asymmetric_encoding(widened)
    marker = _PEM_MARKER.search(text)
    if marker is not None:
        return "PEM", text[marker.start() :]
    if any(m in text for m in _OPENSSH_MARKERS):
        return "OpenSSH text", text
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            document = None
        if isinstance(document, dict) and ("kty" in document or "keys" in document):
            return "JWK JSON text", document
    if text.startswith(b"\x30") and _load_der(text) is not None:
        return "DER", text
    if len(text) >= _SHORTEST_DER_KEY * 4 // 3 and _BASE64_TEXT.fullmatch(text):
        der = _base64_to_der(text)
        if der is not None:
            return "base64 of DER", der
    if len(text) >= _SHORTEST_DER_KEY * 2 and _HEX_TEXT.fullmatch(text):
        try:
            der = bytes.fromhex(re.sub(rb"[:\s]", b"", text).decode("ascii"))
        except ValueError:
            der = b""
        if der.startswith(b"\x30") and _load_der(der) is not None:
            return "hex of DER", der
    return None


def _base64_to_der(text: bytes) -> bytes | None:
    compact = re.sub(rb"[\s=]", b"", text)
    padded = compact + b"=" * (-len(compact) % 4)
    for alphabet in (None, b"-_"):
        try:
            der = base64.b64decode(padded, altchars=alphabet, validate=True)
        except (ValueError, binascii.Error):
            continue
        if der.startswith(b"\x30") and _load_der(der) is not None:
            return der
    return None


def _load_der(der: bytes) -> PublicKeyTypes | PrivateKeyTypes | None:
    """The key object in DER bytes (a public key, an unencrypted private key, a
    certificate's public key), or None."""
    from cryptography import x509

    loaders = (
        serialization.load_der_public_key,
        lambda data: serialization.load_der_private_key(data, password=None),
        lambda data: x509.load_der_x509_certificate(data).public_key(),
    )
    for loader in loaders:
        try:
            return loader(der)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    return None


def _load_asymmetric(encoding: str, source: _KeySource) -> _LoadedKey:
    if isinstance(source, _KEY_OBJECT_TYPES):  # encoding "key object"
        return source
    if isinstance(source, dict):
        if encoding.startswith("JWK"):
            from jwtlab.jwk import from_jwk

            return from_jwk(source)
    elif source is not None:
        if encoding == "PEM":
            return load_pem(source)
        if encoding == "OpenSSH text":
            try:
                return serialization.load_ssh_public_key(source)
            except (ValueError, TypeError, UnsupportedAlgorithm) as error:
                raise InvalidKeyError(f"could not read the OpenSSH key: {error}") from None
        key_object = _load_der(source)
        if key_object is not None:
            return key_object
    raise InvalidKeyError(f"could not read the {encoding} key")


def is_none_algorithm(alg: object) -> bool:
    """True for ``"none"`` in any spelling (``None``, ``NONE``, ``" nOnE "``)."""
    return isinstance(alg, str) and alg.strip().casefold() == "none"


def describe_key(key: object) -> str:
    """A few words naming what kind of key this is, for messages; never its content."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        kind = "private" if isinstance(key, rsa.RSAPrivateKey) else "public"
        return f"an RSA {kind} key ({key.key_size} bits)"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        kind = "private" if isinstance(key, ec.EllipticCurvePrivateKey) else "public"
        return f"an EC {kind} key on {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        kind = "private" if isinstance(key, ed25519.Ed25519PrivateKey) else "public"
        return f"an Ed25519 {kind} key"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        kind = "private" if isinstance(key, ed448.Ed448PrivateKey) else "public"
        return f"an Ed448 {kind} key"
    if isinstance(key, dict):
        return f"a JWK with kty {excerpt(key.get('kty'))}"
    try:
        classified = classify_key(key)
    except InvalidKeyError:
        return f"a {type(key).__name__}"
    if classified.kind == "secret":
        return f"a {len(classified.secret)}-byte secret"
    if classified.encoding == "PEM" and isinstance(classified.source, bytes):
        first_line = classified.source.split(b"\n", 1)[0].decode("ascii", "replace")
        label = first_line.strip("- ").removeprefix("BEGIN ")
        return f"a PEM text ({label})"
    return f"an asymmetric key as {classified.encoding}"


@functools.lru_cache(maxsize=64)
def load_pem(pem: bytes) -> PublicKeyTypes | PrivateKeyTypes:
    """Load a PEM public key, private key (unencrypted) or certificate's public key.

    Cached, because parsing (and, for RSA private keys, checking) a PEM costs far more
    than one signature; the same server key is used for every token.
    """
    try:
        if b"SSH2 PUBLIC KEY" in pem:
            return serialization.load_ssh_public_key(_rfc4716_to_openssh(pem))
        if b"OPENSSH PRIVATE KEY" in pem:
            return serialization.load_ssh_private_key(pem, password=None)
        if b"CERTIFICATE" in pem:
            from cryptography import x509

            return x509.load_pem_x509_certificate(pem).public_key()
        if b"PRIVATE KEY" in pem:
            return serialization.load_pem_private_key(pem, password=None)
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise InvalidKeyError(
            f"could not read the PEM key ({error}); pass an unencrypted PEM public key, "
            "private key or certificate, a cryptography key object, or a JWK dict"
        ) from None


def _rfc4716_to_openssh(block: bytes) -> bytes:
    """RFC 4716 ``---- BEGIN SSH2 PUBLIC KEY ----`` -> one OpenSSH line."""
    lines = [line.strip() for line in block.splitlines()]
    body = [line for line in lines if line and not line.startswith(b"----") and b":" not in line]
    blob = base64.b64decode(b"".join(body))
    name_length = int.from_bytes(blob[:4], "big")
    return blob[4 : 4 + name_length] + b" " + base64.b64encode(blob)


def _asymmetric_key(key: object, alg: str) -> _LoadedKey:
    """Turn any asymmetric form of key (:func:`classify_key`) into a key object."""
    if isinstance(key, _KEY_OBJECT_TYPES):
        return key
    classified = classify_key(key)
    if not classified.is_asymmetric:
        raise InvalidKeyError(
            f"{alg} needs an asymmetric key: a PEM text, a cryptography key object or a JWK "
            f"dict; got {describe_key(key)}. A shared secret only works with HS256/384/512"
        )
    if isinstance(key, dict):
        _check_jwk_fits(key, alg)
    return classified.load()


def _check_jwk_fits(jwk: dict[str, Any], alg: str) -> None:
    """A JWK may pin its algorithm (``alg``) and its use (``use``) (RFC 7517 §4.2, §4.4)."""
    if "alg" in jwk and jwk["alg"] != alg:
        raise InvalidKeyError(
            f"the JWK says alg {excerpt(jwk['alg'])} but it is being used for {alg!r}; "
            "use the key only with the algorithm it was made for (RFC 7517 §4.4)"
        )
    if "use" in jwk and jwk["use"] != "sig":
        raise InvalidKeyError(
            f"the JWK has use {excerpt(jwk['use'])}, not 'sig': it is not meant for "
            "signatures (RFC 7517 §4.2)"
        )


class Algorithm:
    """The interface every family implements (as PyJWT's ``jwt.algorithms.Algorithm``)."""

    name: str
    description: str  # one phrase for the build() trace, with its spec section

    def prepare_key(self, key: KeyLike, *, allow_weak_key: bool = False) -> Key:
        raise NotImplementedError

    def sign(self, signing_input: bytes, key: Key) -> bytes:
        raise NotImplementedError

    def verify(self, signing_input: bytes, key: Key, signature: bytes) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class HMACAlgorithm(Algorithm):
    """HS256, HS384, HS512: HMAC with SHA-2 over a shared secret (RFC 7518 §3.2)."""

    def __init__(self, name: str, hash_name: str) -> None:
        self.name = name
        self.hash_name = hash_name
        self.digest_size = hashlib.new(hash_name).digest_size
        bits = hash_name.removeprefix("sha")
        self.description = f"HMAC with SHA-{bits} (RFC 7518 §3.2)"

    def prepare_key(self, key: KeyLike, *, allow_weak_key: bool = False) -> bytes:
        """Return the secret as bytes; refuse public keys and (by default) short secrets.

        RFC 7518 §3.2: "A key of the same size as the hash output (for instance, 256
        bits for HS256) or larger MUST be used". ``allow_weak_key=True`` lifts that
        rule, for demonstrating why it exists; an empty secret is always refused.
        """
        classified = classify_key(key)
        if classified.is_asymmetric:
            raise AlgorithmConfusionError(
                f"{self.name} needs a shared secret but was given {describe_key(key)}: "
                "using an asymmetric key as an HMAC secret is the "
                "algorithm-confusion attack, since its public half is public and anyone "
                "could forge HMAC tokens with it. Allow only the algorithms your key is for "
                "(e.g. algorithms=['RS256'])"
            )
        if isinstance(key, dict):  # an oct JWK: every other JWK is asymmetric
            from jwtlab.jwk import from_jwk

            _check_jwk_fits(key, self.name)
            secret = from_jwk(key)
            assert isinstance(secret, bytes)  # an oct JWK's k member (RFC 7518 §6.4.1)
        else:
            secret = classified.secret
        if not secret:
            raise WeakKeyError(f"{self.name} was given an empty secret; nothing is protected")
        if len(secret) < self.digest_size and not allow_weak_key:
            raise WeakKeyError(
                f"{self.name} needs a secret of at least {self.digest_size} bytes "
                f"({self.digest_size * 8} bits, the size of the hash output; RFC 7518 §3.2), "
                f"but this one has {len(secret)}. Make one with secrets.token_bytes"
                f"({self.digest_size}), or pass allow_weak_key=True to study weak secrets "
                "on purpose"
            )
        return secret

    def sign(self, signing_input: bytes, key: Key) -> bytes:
        return hmac.digest(self._secret(key), signing_input, self.hash_name)

    def verify(self, signing_input: bytes, key: Key, signature: bytes) -> bool:
        # compare_digest takes the same time wherever the first difference is, so the
        # response time does not reveal how many leading bytes of a forgery were right.
        expected = hmac.digest(self._secret(key), signing_input, self.hash_name)
        return hmac.compare_digest(signature, expected)

    def _secret(self, key: Key) -> bytes:
        if isinstance(key, bytes | bytearray | memoryview):
            return bytes(key)  # the same object when it is bytes already
        raise InvalidKeyError(
            f"{self.name} signs and verifies with a shared secret (bytes), not "
            f"{describe_key(key)}; prepare the key with prepare_key() first"
        )


class RSAAlgorithm(Algorithm):
    """RS* (RSASSA-PKCS1-v1_5, RFC 7518 §3.3) and PS* (RSASSA-PSS, §3.5)."""

    MINIMUM_KEY_SIZE: ClassVar[int] = 2048  # RFC 7518 §3.3 and §3.5

    def __init__(self, name: str, hash_algorithm: hashes.HashAlgorithm, pss: bool) -> None:
        self.name = name
        self.hash_algorithm = hash_algorithm
        bits = hash_algorithm.digest_size * 8
        if pss:
            # RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
            self.padding: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size
            )
            self.description = (
                f"RSASSA-PSS with SHA-{bits} and MGF1 with SHA-{bits} (RFC 7518 §3.5)"
            )
        else:
            self.padding = padding.PKCS1v15()
            self.description = f"RSASSA-PKCS1-v1_5 with SHA-{bits} (RFC 7518 §3.3)"

    def prepare_key(self, key: KeyLike, *, allow_weak_key: bool = False) -> Key:
        key_object = _asymmetric_key(key, self.name)
        if not isinstance(key_object, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise InvalidKeyError(f"{self.name} needs an RSA key, not {describe_key(key_object)}")
        if key_object.key_size < self.MINIMUM_KEY_SIZE and not allow_weak_key:
            raise WeakKeyError(
                f"{self.name} needs an RSA key of at least {self.MINIMUM_KEY_SIZE} bits "
                f"(RFC 7518 §3.3); this one has {key_object.key_size}. Generate a new key, "
                "or pass allow_weak_key=True to study weak keys on purpose"
            )
        return key_object

    def sign(self, signing_input: bytes, key: Key) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise InvalidKeyError(f"signing with {self.name} needs the RSA *private* key")
        return key.sign(signing_input, self.padding, self.hash_algorithm)

    def verify(self, signing_input: bytes, key: Key, signature: bytes) -> bool:
        public_key = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidKeyError(f"{self.name} verifies with an RSA key, not {describe_key(key)}")
        try:
            public_key.verify(signature, signing_input, self.padding, self.hash_algorithm)
        except InvalidSignature:
            return False
        return True


class ECAlgorithm(Algorithm):
    """ES256/384/512: ECDSA with the signature as raw ``r || s`` (RFC 7518 §3.4).

    RFC 7518 §3.4 fixes the curve per algorithm and the signature format: the two
    integers r and s, each as a big-endian octet string of the curve's size (32, 48 or
    66 octets), concatenated. Not DER, which is what OpenSSL produces and consumes.
    """

    def __init__(
        self,
        name: str,
        hash_algorithm: hashes.HashAlgorithm,
        curve: type[ec.EllipticCurve],
        order: int,
    ) -> None:
        self.name = name
        self.hash_algorithm = hash_algorithm
        self.curve = curve
        curve_instance = curve()  # name and key_size are properties of an instance
        self.curve_name = curve_instance.name
        self.order = order  # n, the order of the base point: r and s must lie in [1, n-1]
        self.coordinate_size = (curve_instance.key_size + 7) // 8
        self.signature_size = 2 * self.coordinate_size
        bits = hash_algorithm.digest_size * 8
        jose_curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        self.jose_curve = jose_curve[self.curve_name]
        self.description = (
            f"ECDSA using {self.jose_curve} and SHA-{bits}, signature r || s (RFC 7518 §3.4)"
        )

    def prepare_key(self, key: KeyLike, *, allow_weak_key: bool = False) -> Key:
        key_object = _asymmetric_key(key, self.name)
        if not isinstance(key_object, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise InvalidKeyError(f"{self.name} needs an EC key, not {describe_key(key_object)}")
        if key_object.curve.name != self.curve_name:
            raise InvalidKeyError(
                f"{self.name} needs a key on {self.jose_curve} (RFC 7518 §3.4), but this one "
                f"is on {key_object.curve.name}; pick the ES algorithm that matches the curve"
            )
        return key_object

    def sign(self, signing_input: bytes, key: Key) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidKeyError(f"signing with {self.name} needs the EC *private* key")
        der_signature = key.sign(signing_input, ec.ECDSA(self.hash_algorithm))
        r, s = decode_dss_signature(der_signature)
        size = self.coordinate_size
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(self, signing_input: bytes, key: Key, signature: bytes) -> bool:
        """Check ``r || s``; raise :class:`MalformedSignatureError` if it cannot be one."""
        if len(signature) != self.signature_size:
            raise MalformedSignatureError(
                f"an {self.name} signature is r || s, {self.coordinate_size} + "
                f"{self.coordinate_size} = {self.signature_size} bytes (RFC 7518 §3.4), "
                f"but this one has {len(signature)}"
                + (
                    " — it looks DER-encoded; JWS never uses DER"
                    if signature[:1] == b"\x30"
                    else ""
                )
            )
        r = int.from_bytes(signature[: self.coordinate_size], "big")
        s = int.from_bytes(signature[self.coordinate_size :], "big")
        for label, value in (("r", r), ("s", s)):
            if not 0 < value < self.order:
                raise MalformedSignatureError(
                    f"ECDSA {label} must lie between 1 and n-1, where n is the order of "
                    f"{self.jose_curve}, but {label} = "
                    f"{'0' if value == 0 else 'n or more'}; no valid signature has that"
                )
        public_key = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InvalidKeyError(f"{self.name} verifies with an EC key, not {describe_key(key)}")
        try:
            public_key.verify(
                encode_dss_signature(r, s), signing_input, ec.ECDSA(self.hash_algorithm)
            )
        except InvalidSignature:
            return False
        return True


class OKPAlgorithm(Algorithm):
    """EdDSA with Ed25519 or Ed448 (RFC 8037 §3.1); deterministic, no hash to choose."""

    def __init__(self) -> None:
        self.name = "EdDSA"
        self.description = "EdDSA, Ed25519 or Ed448 (RFC 8037 §3.1)"

    def prepare_key(self, key: KeyLike, *, allow_weak_key: bool = False) -> Key:
        key_object = _asymmetric_key(key, self.name)
        if not isinstance(
            key_object,
            ed25519.Ed25519PrivateKey
            | ed25519.Ed25519PublicKey
            | ed448.Ed448PrivateKey
            | ed448.Ed448PublicKey,
        ):
            raise InvalidKeyError(
                f"EdDSA needs an Ed25519 or Ed448 key, not {describe_key(key_object)}"
            )
        return key_object

    def sign(self, signing_input: bytes, key: Key) -> bytes:
        if not isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            raise InvalidKeyError("signing with EdDSA needs the *private* key")
        return key.sign(signing_input)

    def verify(self, signing_input: bytes, key: Key, signature: bytes) -> bool:
        public_key = (
            key.public_key()
            if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
            else key
        )
        if not isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            raise InvalidKeyError(
                f"EdDSA verifies with an Ed25519 or Ed448 key, not {describe_key(key)}"
            )
        try:
            public_key.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True


# The orders n of the NIST curves' base points (FIPS 186-4 §D.1.2, SEC 2 §2.4).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P384_ORDER = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    16,
)
_P521_ORDER = int(
    "01" + "F" * 65 + "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    16,
)

ALGORITHMS: dict[str, Algorithm] = {
    "HS256": HMACAlgorithm("HS256", "sha256"),
    "HS384": HMACAlgorithm("HS384", "sha384"),
    "HS512": HMACAlgorithm("HS512", "sha512"),
    "RS256": RSAAlgorithm("RS256", hashes.SHA256(), pss=False),
    "RS384": RSAAlgorithm("RS384", hashes.SHA384(), pss=False),
    "RS512": RSAAlgorithm("RS512", hashes.SHA512(), pss=False),
    "PS256": RSAAlgorithm("PS256", hashes.SHA256(), pss=True),
    "PS384": RSAAlgorithm("PS384", hashes.SHA384(), pss=True),
    "PS512": RSAAlgorithm("PS512", hashes.SHA512(), pss=True),
    "ES256": ECAlgorithm("ES256", hashes.SHA256(), ec.SECP256R1, _P256_ORDER),
    "ES384": ECAlgorithm("ES384", hashes.SHA384(), ec.SECP384R1, _P384_ORDER),
    "ES512": ECAlgorithm("ES512", hashes.SHA512(), ec.SECP521R1, _P521_ORDER),
    "EdDSA": OKPAlgorithm(),
}


def get_algorithm(alg: str) -> Algorithm:
    """Return the implementation of ``alg``; raise ``ValueError`` naming the choices."""
    try:
        return ALGORITHMS[alg]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown algorithm {alg!r}; jwtlab implements {', '.join(ALGORITHMS)}"
        ) from None
