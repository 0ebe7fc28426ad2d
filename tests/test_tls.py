"""[tls]: the certificate and key for the portal's name, checked before anything serves them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from portal.config import ConfigError, Settings, parse_settings
from portal.tls import check
from tests.certificates import Authority, Issued

HOSTNAME = "wifi.commune.test"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


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
        ('[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 80', "tls.port", "80"),
        ('[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 22', "tls.port", "SSH"),
        (
            '[tls]\ncertificate_file = "/c.pem"\nkey_file = "/k.pem"\nport = 8081',
            "tls.port",
            "network.admin_port",
        ),
        ("[tls]\nport = 0", "tls.port", "from 1 to 65535"),
        ('[site]\nvenue_info_url = "http://example.org/"', "site.venue_info_url", "https://"),
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
    assert "not issued to" in refusal(with_tls(issued, "a.wifi.commune.test"))
    assert "not issued to" in refusal(with_tls(issued, "commune.test"))


@pytest.mark.parametrize(
    ("names", "valid_from", "valid_until", "words"),
    [
        (("other.commune.test",), -1, 30, "not issued to wifi.commune.test"),
        ((), -1, 30, "not issued to"),
        ((HOSTNAME,), -40, -2, "expired on"),
        ((HOSTNAME,), 2, 30, "valid only from"),
    ],
)
def test_a_certificate_phones_would_refuse_is_refused(
    authority: Authority, names: tuple[str, ...], valid_from: int, valid_until: int, words: str
) -> None:
    issued = authority.issue(
        *names,
        stem=f"refused-{len(names)}-{valid_from}",
        valid_from=timedelta(days=valid_from),
        valid_until=timedelta(days=valid_until),
    )
    problem = refusal(with_tls(issued))
    assert problem.startswith("tls.certificate_file: ")
    assert words in problem


def test_the_key_must_belong_to_the_certificate(authority: Authority) -> None:
    mine, other = authority.issue(HOSTNAME, stem="mine"), authority.issue(HOSTNAME, stem="other")
    mixed = Issued(mine.certificate, other.key)
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
    assert refusal(with_tls(Issued(issued.certificate, locked))) == (
        "tls.key_file: is protected by a password; the portal needs it without one"
    )


@pytest.mark.parametrize(
    ("which", "content", "words"),
    [
        ("certificate", None, "cannot read"),
        ("certificate", b"hello", "must be a PEM certificate"),
        ("certificate", b"-" * 70_000, "larger than a PEM file can be"),
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
    issued = Issued(wrong, good.key) if which == "certificate" else Issued(good.certificate, wrong)
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
    assert "is not the private key" in refusal(with_tls(Issued(issued.certificate, other)))


def run_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_config_says_what_dhcp_announces(authority: Authority, tmp_path: Path) -> None:
    issued = authority.issue(HOSTNAME, stem="announced", valid_until=timedelta(days=60, hours=1))
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"{path}: OK — portal at https://wifi.commune.test/"
    assert second.startswith("HTTPS: the certificate for wifi.commune.test is valid until 20")
    assert second.endswith(". DHCP announces https://wifi.commune.test/api/captive (option 114).")
    assert "renew" not in second


def test_check_config_reminds_to_renew(authority: Authority, tmp_path: Path) -> None:
    issued = authority.issue(HOSTNAME, stem="ending", valid_until=timedelta(days=5, hours=1))
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path)
    assert result.returncode == 0, result.stderr
    assert "; renew it within 5 days. DHCP announces" in result.stdout


def test_check_config_refuses_a_certificate_for_another_name(
    authority: Authority, tmp_path: Path
) -> None:
    issued = authority.issue("elsewhere.test", stem="elsewhere")
    path = tmp_path / "portal.toml"
    path.write_text(tls_toml(issued), encoding="utf-8")
    result = run_check_config(path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: tls.certificate_file: its certificate is not issued to"
        " wifi.commune.test (network.portal_hostname); phones would refuse it"
    )
    assert result.stdout == ""
