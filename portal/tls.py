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

The checks need pyca/cryptography and live in portal/certificate.py, imported only
when a certificate is configured: most Pis serve plain HTTP, and then no process of
theirs carries the library (a few MB in each).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from portal.config import ConfigError, Settings

HTTPS_OFF = "the portal serves plain HTTP only and DHCP does not announce the captive-portal API"


def in_force(settings: Settings, warn: Callable[[str], None]) -> Settings:
    """The settings to run with: as they are, or without [tls] (plain HTTP, no option 114)
    when its certificate cannot be used, after `warn` said why in one sentence."""
    if not settings.serves_https:
        return settings
    from portal.certificate import check  # pyca/cryptography: only with a certificate

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


__all__ = ["HTTPS_OFF", "in_force", "server_context"]
