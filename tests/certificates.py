"""A certificate authority made by the test, and certificates it issues for the portal's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass(frozen=True)
class Issued:
    certificate: Path
    """The portal's certificate, then the intermediate authority's if it has one (the full
    chain a server sends)."""
    key: Path
    not_after: datetime


class Authority:
    """A throw-away CA: a root whose certificate is `folder`/ca.pem, for clients to trust;
    or, with `parent`, an intermediate authority that root signed."""

    def __init__(
        self, folder: Path, name: str = "Passerelle Test CA", parent: Authority | None = None
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._parent = parent
        signer = parent._key if parent else self._key
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(parent._certificate.subject if parent else _name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=0 if parent else None), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent._key.public_key()),
                critical=False,
            )
        self._certificate: x509.Certificate = builder.sign(signer, hashes.SHA256())
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self._certificate.public_bytes(serialization.Encoding.PEM))

    def intermediate(self, name: str = "Passerelle Test Intermediate") -> Authority:
        return Authority(self.folder / "intermediate", name, parent=self)

    def issue(
        self,
        *names: str,
        stem: str = "portal",
        valid_from: timedelta = timedelta(days=-1),
        valid_until: timedelta = timedelta(days=30),
        full_chain: bool = True,
    ) -> Issued:
        """A server certificate for the DNS `names` (none: a certificate without any),
        valid from now + `valid_from` to now + `valid_until`; without `full_chain`, the file
        leaves out an intermediate authority's certificate."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0] if names else "no name"))
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + valid_from)
            .not_valid_after(now + valid_until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            )
        certificate = builder.sign(self._key, hashes.SHA256())
        issued = Issued(
            self.folder / f"{stem}.pem",
            self.folder / f"{stem}.key",
            certificate.not_valid_after_utc,
        )
        chain: list[x509.Certificate] = [certificate]
        if self._parent and full_chain:
            chain.append(self._certificate)
        issued.certificate.write_bytes(
            b"".join(link.public_bytes(serialization.Encoding.PEM) for link in chain)
        )
        _write_key(key, issued.key)
        return issued


__all__ = ["Authority", "Issued"]
