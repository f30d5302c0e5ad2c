"""Digitally signed PDFs for the 真实性 tests: a self-signed certificate made here, signed with pyHanko."""

from __future__ import annotations

import datetime
import functools
import io


@functools.cache
def _signer():
    from asn1crypto import keys, x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "市住建局（测试签章）")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(cx509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return signers.SimpleSigner(signing_cert=x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                                signing_key=keys.PrivateKeyInfo.load(der_key), cert_registry=None)


@functools.cache
def signed_pdf(text: str = "SIGNED ORIGINAL") -> bytes:
    """A one-page PDF (content stream stored uncompressed, so a test can alter a signed byte) signed once."""
    import pikepdf
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj.Contents = pdf.make_stream(f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode())
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)))
    plain = io.BytesIO()
    pdf.save(plain, compress_streams=False)
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(plain.getvalue())),
                     signers.PdfSignatureMetadata(field_name="签章1"), signer=_signer(), output=out)
    return out.getvalue()


def altered(data: bytes, old: bytes = b"SIGNED ORIGINAL", new: bytes = b"SIGNED 0RIGINAL") -> bytes:
    """The same file with a signed byte changed (same length: the signature's byte range still fits)."""
    assert data.count(old) == 1
    return data.replace(old, new)
