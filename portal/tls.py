"""HTTPS for the portal's own name: the certificate and key of [tls], checked whole before use.

RFC 8908 wants the captive-portal API on HTTPS with a certificate phones accept,
and RFC 8910 an https:// address in DHCP option 114. The commune (or its hub)
provides a certificate for `network.portal_hostname`; the Pi's dnsmasq answers
that name with the Pi's own address. Before anything serves or announces it,
the files are read and checked as a phone would: the chain leads to an authority
the Pi trusts (the system's, as phones trust the public ones), it names the
portal, it has not ended, and the key is its own.

A certificate that fails is no reason to leave villagers offline: the portal
then runs as without [tls] (plain HTTP, no option 114), and says why. Every
command decides with `in_force`, so the rendered ruleset and dnsmasq.conf and
the serving portal always agree. Only the Pi's clock being behind (a Pi has no
battery clock) is let pass: a certificate "not yet valid" by it is used, since
phones judge with their own clocks.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from portal.config import ConfigError, Settings

MAX_PEM_BYTES = 64 * 1024
"""A certificate chain or a key is a few kilobytes; anything larger is not one."""
MAX_AUTHORITIES_BYTES = 4 * 1024 * 1024
"""The system's bundle of trusted authorities (Debian's ca-certificates: about 200 KB)."""
RENEW_WITHIN_DAYS = 14
"""`portal check-config` reminds the volunteer this many days before the certificate ends."""
HTTPS_OFF = "the portal serves plain HTTP only and DHCP does not announce the captive-portal API"


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


def in_force(settings: Settings, warn: Callable[[str], None]) -> Settings:
    """The settings to run with: as they are, or without [tls] (plain HTTP, no option 114)
    when its certificate cannot be used, after `warn` said why in one sentence."""
    if not settings.serves_https:
        return settings
    try:
        check(settings)
    except ConfigError as problem:
        warn(f"HTTPS is off: {problem}; until it is put right, {HTTPS_OFF}")
        return settings.replace("tls", certificate_file="", key_file="")
    return settings


def server_context(
    settings: Settings, kind: type[ssl.SSLContext] = ssl.SSLContext
) -> ssl.SSLContext:
    """The server side of the portal's HTTPS: TLS 1.2 or later, HTTP/1.1 only; `kind` is
    the context class (gevent's, for cooperative sockets)."""
    context = kind(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
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


__all__ = ["HTTPS_OFF", "Certificate", "check", "in_force", "server_context"]
