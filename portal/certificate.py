"""[tls]'s certificate and key, read and checked whole as a phone would (pyca/cryptography).

portal/tls.py says what is checked and why; it imports this module only when a
certificate is configured.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from portal.config import ConfigError, Settings
from portal.tls import server_context

MAX_PEM_BYTES = 64 * 1024
"""A certificate chain or a key is a few kilobytes; anything larger is not one."""
MAX_AUTHORITIES_BYTES = 4 * 1024 * 1024
"""The system's bundle of trusted authorities (Debian's ca-certificates: about 200 KB)."""
RENEW_WITHIN_DAYS = 14
"""`portal check-config` reminds the volunteer this many days before the certificate ends."""


@dataclass(frozen=True)
class Certificate:
    """What `check` found in tls.certificate_file."""

    hostname: str
    not_before: datetime
    not_after: datetime

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days


def _read(path: Path, key: str, limit: int = MAX_PEM_BYTES) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise ConfigError(key, f"cannot read {path}: {error.strerror}") from None
    if len(data) > limit:
        raise ConfigError(key, f"{path} is larger than a PEM file can be ({limit // 1024} KiB)")
    return data


def _chain(settings: Settings) -> list[x509.Certificate]:
    data = _read(Path(settings.tls.certificate_file), "tls.certificate_file")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ConfigError(
            "tls.certificate_file",
            "must be PEM certificates ('-----BEGIN CERTIFICATE-----'), the portal's first",
        ) from None


def _authorities() -> Store:
    """The authorities this system trusts: OpenSSL's default bundle (SSL_CERT_FILE if set)."""
    bundle = ssl.get_default_verify_paths().cafile
    if bundle is None:
        raise ConfigError(
            "tls.certificate_file",
            "cannot be checked: this system has no trusted authorities (Debian package "
            "ca-certificates)",
        )
    data = _read(Path(bundle), "tls.certificate_file", MAX_AUTHORITIES_BYTES)
    return Store(x509.load_pem_x509_certificates(data))


def _verify(chain: list[x509.Certificate], hostname: str, moment: datetime) -> None:
    """The chain as a phone checks it (rustls-webpki's rules in pyca/cryptography): issued
    by a trusted authority through the intermediates given, for `hostname`, a server's."""
    leaf, *intermediates = chain
    verifier = PolicyBuilder().store(_authorities()).time(moment)
    try:
        verifier.build_server_verifier(x509.DNSName(hostname)).verify(leaf, intermediates)
    except VerificationError as error:
        if "subjectAltName" in str(error):
            raise ConfigError(
                "tls.certificate_file",
                f"its certificate is not issued to {hostname} (network.portal_hostname) but "
                f"to {_names(leaf)}; phones would refuse it",
            ) from None
        raise ConfigError(
            "tls.certificate_file",
            "does not lead to an authority phones trust; it must hold the certificate, then "
            f"its intermediate certificates (the full chain) ({error})",
        ) from None


def _names(leaf: x509.Certificate) -> str:
    try:
        extension = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return "no name"
    names = extension.value.get_values_for_type(x509.DNSName)
    return ", ".join(names) if names else "no name"


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_key(settings: Settings, leaf: x509.Certificate) -> None:
    data = _read(Path(settings.tls.key_file), "tls.key_file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(
            "tls.key_file", "is protected by a password; the portal needs it without one"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            "tls.key_file", "must be a PEM private key ('-----BEGIN PRIVATE KEY-----')"
        ) from None
    if _public(key.public_key()) != _public(leaf.public_key()):
        raise ConfigError(
            "tls.key_file", "is not the private key of the certificate in tls.certificate_file"
        )


def check(settings: Settings, now: datetime | None = None) -> Certificate:
    """Read and check both files of [tls] (a certificate must be configured); ConfigError
    names the key whose file phones (or OpenSSL) would refuse."""
    moment = now or datetime.now(UTC)
    chain = _chain(settings)
    leaf = chain[0]
    if moment > leaf.not_valid_after_utc:
        raise ConfigError(
            "tls.certificate_file",
            f"its certificate ended on {leaf.not_valid_after_utc:%Y-%m-%d}; put a renewed one",
        )
    # Not yet valid by the Pi's clock: checked as at its start (phones have the right time).
    _verify(chain, settings.network.portal_hostname, max(moment, leaf.not_valid_before_utc))
    _check_key(settings, leaf)
    server_context(settings)  # what OpenSSL makes of the files, as the server loads them
    return Certificate(
        settings.network.portal_hostname, leaf.not_valid_before_utc, leaf.not_valid_after_utc
    )


__all__ = ["RENEW_WITHIN_DAYS", "Certificate", "check"]
