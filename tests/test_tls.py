"""[tls]: the certificate and key for the portal's name, checked before anything serves them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from portal.certificate import check
from portal.config import ConfigError, Settings, parse_settings
from portal.tls import in_force
from tests.certificates import Authority, Issued

HOSTNAME = "wifi.commune.test"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(autouse=True)
def trusted(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's authority is the one this system trusts (OpenSSL's SSL_CERT_FILE), as
    phones trust the public ones."""
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))


def tls_toml(issued: Issued, hostname: str = HOSTNAME, extra: str = "") -> str:
    return f"""
[network]
portal_hostname = "{hostname}"
[tls]
certificate_file = "{issued.certificate}"
key_file = "{issued.key}"
{extra}
"""


def with_tls(issued: Issued, hostname: str = HOSTNAME) -> Settings:
    return parse_settings(tls_toml(issued, hostname))


def refusal(settings: Settings) -> str:
    with pytest.raises(ConfigError) as caught:
        check(settings)
    return str(caught.value)


def test_without_a_certificate_the_portal_stays_on_http() -> None:
    settings = Settings()
    assert settings.serves_https is False
    assert settings.public_url == "http://passerelle.lan/"
    assert settings.api_url == "http://passerelle.lan/api/captive"


def test_with_a_certificate_links_and_the_api_are_https(authority: Authority) -> None:
    settings = with_tls(authority.issue(HOSTNAME))
    assert settings.serves_https is True
    assert settings.public_url == "https://wifi.commune.test/"
    assert settings.api_url == "https://wifi.commune.test/api/captive"
    moved = settings.replace("tls", port=8443)
    assert moved.public_url == "https://wifi.commune.test:8443/"


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[tls]\ncertificate_file = "/etc/passerelle/tls/fullchain.pem"', "tls.key_file", "too"),
        ('[tls]\nkey_file = "/etc/passerelle/tls/privkey.pem"', "tls.certificate_file", "too"),
        ('[tls]\ncertificate_file = "fullchain.pem"', "tls.certificate_file", "absolute path"),
        (
            '[network]\nportal_hostname = ""\n[tls]\ncertificate_file = "/c.pem"\n'
            'key_file = "/k.pem"',
            "network.portal_hostname",
            "issued to",
        ),
        (
            '[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 80',
            "tls.port",
            "portal_port",
        ),
        ('[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 22', "tls.port", "SSH"),
        (
            '[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 8081',
            "tls.port",
            "network.admin_port",
        ),
        ("[tls]\nport = 0", "tls.port", "from 1 to 65535"),
        ('[site]\nvenue_info_url = "http://example.org/"', "site.venue_info_url", "https://"),
        ('[site]\nvenue_info_url = "https://10.42.0.1/info"', "site.venue_info_url", "host name"),
        ('[site]\nvenue_info_url = "https://[fe80::1]/"', "site.venue_info_url", "host name"),
        (
            '[network]\nportal_port = 8080\n[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"'
            "\nport = 80",
            "tls.port",
            "guests' plain web traffic",
        ),
    ],
)
def test_wrong_tls_settings_name_the_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml)
    assert caught.value.key == key
    assert words in caught.value.problem


def test_a_good_certificate_passes(authority: Authority) -> None:
    found = check(with_tls(authority.issue(HOSTNAME, valid_until=timedelta(days=30))))
    assert found.hostname == HOSTNAME
    assert found.days_left(datetime.now(UTC)) == 29  # 30 days less the moments since


def test_a_wildcard_certificate_covers_one_label(authority: Authority) -> None:
    issued = authority.issue("*.commune.test", stem="wildcard")
    assert check(with_tls(issued)).hostname == HOSTNAME
    assert refusal(with_tls(issued, "a.wifi.commune.test")) == (
        "tls.certificate_file: its certificate is not issued to a.wifi.commune.test"
        " (network.portal_hostname) but to *.commune.test; phones would refuse it"
    )
    assert "is not issued to commune.test" in refusal(with_tls(issued, "commune.test"))


def test_a_certificate_through_an_intermediate_needs_the_full_chain(
    authority: Authority,
) -> None:
    intermediate = authority.intermediate()
    assert check(with_tls(intermediate.issue(HOSTNAME, stem="full"))).hostname == HOSTNAME
    problem = refusal(with_tls(intermediate.issue(HOSTNAME, stem="leaf", full_chain=False)))
    assert problem.startswith(
        "tls.certificate_file: does not lead to an authority phones trust; it must hold the"
        " certificate, then its intermediate certificates (the full chain) ("
    )


def test_a_certificate_from_an_authority_nobody_trusts_is_refused(tmp_path: Path) -> None:
    stranger = Authority(tmp_path / "stranger", "Self-made CA").issue(HOSTNAME)
    assert "does not lead to an authority phones trust" in refusal(with_tls(stranger))


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (("other.commune.test",), "is not issued to wifi.commune.test (network.portal_hostname)"
         " but to other.commune.test; phones would refuse it"),
        ((), "is not issued to wifi.commune.test (network.portal_hostname) but to no name;"
         " phones would refuse it"),
    ],
)  # fmt: skip
def test_a_certificate_for_another_name_is_refused(
    authority: Authority, names: tuple[str, ...], words: str
) -> None:
    problem = refusal(with_tls(authority.issue(*names, stem=f"named-{len(names)}")))
    assert problem == f"tls.certificate_file: its certificate {words}"


def test_an_ended_certificate_is_refused(authority: Authority) -> None:
    issued = authority.issue(
        HOSTNAME, stem="ended", valid_from=timedelta(days=-40), valid_until=timedelta(days=-2)
    )
    problem = refusal(with_tls(issued))
    assert problem.startswith("tls.certificate_file: its certificate ended on 20")
    assert problem.endswith("; put a renewed one")


def test_a_certificate_not_yet_valid_by_the_pis_clock_is_used(authority: Authority) -> None:
    # A Pi has no battery clock: offline, it may run days behind the phones.
    issued = authority.issue(HOSTNAME, stem="early", valid_from=timedelta(days=2))
    found = check(with_tls(issued))
    assert found.not_before > datetime.now(UTC) + timedelta(days=1)


def test_the_key_must_belong_to_the_certificate(authority: Authority) -> None:
    mine, other = authority.issue(HOSTNAME, stem="mine"), authority.issue(HOSTNAME, stem="other")
    mixed = Issued(mine.certificate, other.key, mine.not_after)
    assert refusal(with_tls(mixed)) == (
        "tls.key_file: is not the private key of the certificate in tls.certificate_file"
    )


def test_a_key_with_a_password_is_refused_without_prompting(
    authority: Authority, tmp_path: Path
) -> None:
    issued = authority.issue(HOSTNAME, stem="locked")
    key = serialization.load_pem_private_key(issued.key.read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert refusal(with_tls(Issued(issued.certificate, locked, issued.not_after))) == (
        "tls.key_file: is protected by a password; the portal needs it without one"
    )


@pytest.mark.parametrize(
    ("which", "content", "words"),
    [
        ("certificate", None, "cannot read"),
        ("certificate", b"hello", "must be PEM certificates"),
        ("certificate", b"-" * 70_000, "larger than a PEM file can be (64 KiB)"),
        ("key", None, "cannot read"),
        ("key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM private"),
    ],
)
def test_an_unreadable_or_wrong_file_names_its_key(
    authority: Authority, tmp_path: Path, which: str, content: bytes | None, words: str
) -> None:
    good = authority.issue(HOSTNAME, stem="good")
    wrong = tmp_path / "wrong.pem"
    if content is not None:
        wrong.write_bytes(content)
    issued = (
        Issued(wrong, good.key, good.not_after)
        if which == "certificate"
        else Issued(good.certificate, wrong, good.not_after)
    )
    problem = refusal(with_tls(issued))
    assert problem.startswith(f"tls.{which}_file: ")
    assert words in problem


def test_a_key_of_another_kind_is_not_the_certificates(
    authority: Authority, tmp_path: Path
) -> None:
    # A P-384 key in the traditional format beside a P-256 certificate: public keys compared.
    issued = authority.issue(HOSTNAME, stem="ec")
    other = tmp_path / "other.key"
    other.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    assert "is not the private key" in refusal(
        with_tls(Issued(issued.certificate, other, issued.not_after))
    )


def test_in_force_keeps_https_for_a_good_certificate_and_drops_it_for_a_bad_one(
    authority: Authority,
) -> None:
    said: list[str] = []
    good = with_tls(authority.issue(HOSTNAME, stem="kept"))
    assert in_force(good, said.append) == good
    assert said == []
    bad = with_tls(authority.issue("elsewhere.test", stem="dropped"))
    fallback = in_force(bad, said.append)
    assert (fallback.serves_https, fallback.public_url) == (False, "http://wifi.commune.test/")
    assert said == [
        "HTTPS is off: tls.certificate_file: its certificate is not issued to wifi.commune.test"
        " (network.portal_hostname) but to elsewhere.test; phones would refuse it; until it"
        " is put right, the portal serves plain HTTP only and DHCP does not announce the"
        " captive-portal API"
    ]


def run_check_config(path: Path, authority: Authority) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SSL_CERT_FILE": str(authority.ca_file)},
    )


def test_check_config_says_what_dhcp_announces(authority: Authority, tmp_path: Path) -> None:
    issued = authority.issue(HOSTNAME, stem="announced", valid_until=timedelta(days=60, hours=1))
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path, authority)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: OK — portal at https://wifi.commune.test/",
        f"HTTPS: the certificate for wifi.commune.test is valid until"
        f" {issued.not_after:%Y-%m-%d}. DHCP announces https://wifi.commune.test/api/captive"
        " (option 114).",
    ]


def test_check_config_reminds_to_renew_and_to_look_at_the_clock(
    authority: Authority, tmp_path: Path
) -> None:
    issued = authority.issue(
        HOSTNAME,
        stem="ending",
        valid_from=timedelta(days=1),
        valid_until=timedelta(days=5, hours=1),
    )
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path, authority)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[1]
    assert "; renew it within 5 days. By this Pi's clock it is valid only from 20" in line
    assert line.endswith(": is the clock right? DHCP announces"
                         " https://wifi.commune.test/api/captive (option 114).")  # fmt: skip


def test_check_config_lists_a_certificate_phones_would_refuse(
    authority: Authority, tmp_path: Path
) -> None:
    issued = authority.issue("elsewhere.test", stem="elsewhere")
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path, authority)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: tls.certificate_file: its certificate is not issued to wifi.commune.test"
        " (network.portal_hostname) but to elsewhere.test; phones would refuse it",
        "Until it is put right, the portal serves plain HTTP only and DHCP does not announce"
        " the captive-portal API.",
    ]
    assert "Traceback" not in result.stderr


def test_check_config_names_what_the_api_needs(authority: Authority, tmp_path: Path) -> None:
    path = tmp_path / "portal.toml"
    path.write_text('[network]\nportal_hostname = ""\n', encoding="utf-8")
    result = run_check_config(path, authority)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "note: DHCP does not announce the captive-portal API (option 114): phones accept it"
        " only on HTTPS, with a certificate for the portal's name. To announce it, set"
        " network.portal_hostname and [tls] certificate_file and key_file. Meanwhile phones"
        " find the portal by their probes."
    )
