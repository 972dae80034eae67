"""Real PEM texts for tests that need certificates without a TLS server: a CA, and a client
certificate it signed with its private key (generated once per test process with ``cryptography``)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey) -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=subject == issuer, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


_CA_KEY = ec.generate_private_key(ec.SECP256R1())
_CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())
CA = _certificate("test root CA", _CA_KEY, "test root CA", _CA_KEY)
CERT = _certificate("test client", _CLIENT_KEY, "test root CA", _CA_KEY)
KEY = private_key_pem(_CLIENT_KEY)
#: The client key under a passphrase (the connection has no field for one).
ENCRYPTED_KEY = private_key_pem(_CLIENT_KEY, b"passphrase")
#: A key that does not belong to ``CERT``.
OTHER_KEY = private_key_pem(ec.generate_private_key(ec.SECP256R1()))


def single_line(pem: str, separator: str = "") -> str:
    """``pem`` as pasted into a single-line form field: line breaks dropped (or turned into spaces)."""
    return separator.join(pem.splitlines())
