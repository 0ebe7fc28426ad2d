"""HTTPS for the portal's own name: the certificate and key of [tls], checked whole before use.

RFC 8908 wants the captive-portal API on HTTPS with a certificate phones accept,
and RFC 8910 an https:// address in DHCP option 114. The commune (or its hub)
provides a certificate for `network.portal_hostname`; the Pi's dnsmasq answers
that name with the Pi's own address. Before anything announces or serves it,
the files are read and checked: a certificate that phones would refuse (another
name, expired, not yet valid) or a key that does not match it is a configuration
error naming the key, never a sign-in window that shows a certificate warning.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from portal.config import ConfigError, Settings

MAX_PEM_BYTES = 64 * 1024
"""A certificate chain or a key is a few kilobytes; anything larger is not one."""
RENEW_WITHIN_DAYS = 14
"""`portal check-config` reminds the volunteer this many days before the certificate ends."""


@dataclass(frozen=True)
class Certificate:
    """What `check` found in tls.certificate_file."""

    hostname: str
    not_after: datetime

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days


def _read(settings: Settings, name: str) -> bytes:
    path = Path(getattr(settings.tls, name))
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PEM_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"tls.{name}", f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise ConfigError(f"tls.{name}", f"{path} is larger than a PEM file can be (64 KiB)")
    return data


def covers(certificate: x509.Certificate, hostname: str) -> bool:
    """Whether the certificate's DNS names match `hostname` as browsers do (RFC 6125):
    exactly, or by a wildcard for the one left-most label. The subject's common name is
    not looked at: phones ignore it too."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    parent = hostname.partition(".")[2]
    for name in names.value.get_values_for_type(x509.DNSName):
        name = name.lower().rstrip(".")
        if name == hostname or (name.startswith("*.") and parent and name[2:] == parent):
            return True
    return False


def _leaf(settings: Settings, now: datetime) -> x509.Certificate:
    data = _read(settings, "certificate_file")
    try:
        leaf = x509.load_pem_x509_certificates(data)[0]
    except ValueError:
        raise ConfigError(
            "tls.certificate_file",
            "must be a PEM certificate ('-----BEGIN CERTIFICATE-----'), the portal's first",
        ) from None
    hostname = settings.network.portal_hostname
    if not covers(leaf, hostname):
        raise ConfigError(
            "tls.certificate_file",
            f"its certificate is not issued to {hostname} (network.portal_hostname); "
            "phones would refuse it",
        )
    if now < leaf.not_valid_before_utc:
        raise ConfigError(
            "tls.certificate_file",
            f"its certificate is valid only from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; "
            "is the Pi's clock right?",
        )
    if now > leaf.not_valid_after_utc:
        raise ConfigError(
            "tls.certificate_file",
            f"its certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}; put a renewed one",
        )
    return leaf


def _private_key(settings: Settings) -> PrivateKeyTypes:
    data = _read(settings, "key_file")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(
            "tls.key_file", "is protected by a password; the portal needs it without one"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            "tls.key_file", "must be a PEM private key ('-----BEGIN PRIVATE KEY-----')"
        ) from None


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check(settings: Settings, now: datetime | None = None) -> Certificate:
    """Read and check both files of [tls] (a certificate must be configured); ConfigError
    names the key whose file is wrong."""
    moment = now or datetime.now(UTC)
    leaf = _leaf(settings, moment)
    key = _private_key(settings)
    if _public(key.public_key()) != _public(leaf.public_key()):
        raise ConfigError(
            "tls.key_file",
            "is not the private key of the certificate in tls.certificate_file",
        )
    server_context(settings)  # what OpenSSL makes of them, as the server will load them
    return Certificate(settings.network.portal_hostname, leaf.not_valid_after_utc)


def usable_certificate(settings: Settings) -> Certificate | None:
    """None without [tls]; else `check`: the one gate before the portal serves HTTPS or
    DHCP announces it (serve, render-config, check-config)."""
    return check(settings) if settings.serves_https else None


def server_context(settings: Settings) -> ssl.SSLContext:
    """The server side of the portal's HTTPS: TLS 1.2 or later, HTTP/1.1 only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(
            settings.tls.certificate_file, settings.tls.key_file, password=_no_password
        )
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(
            "tls.certificate_file", f"OpenSSL cannot use it with tls.key_file ({error})"
        ) from None
    return context


def _no_password() -> bytes:
    """A key that asks for a password fails at once instead of prompting on the terminal."""
    return b""


__all__ = ["Certificate", "check", "covers", "server_context", "usable_certificate"]
