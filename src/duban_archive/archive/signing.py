"""The site's SM2 key pair: it signs what the archive seals (the bag's tag manifests, DA/T 48 EEP).

Why SM2 (GB/T 32918) with SM3 (GB/T 32905): the 国密 algorithms are what a
Chinese archives inspector expects, and ``gmssl`` (installed) implements both.
The key pair is made at first use: the private key lives in the var dir
(``keys/archive-sm2.key``, mode 0600, the directory 0700) and never leaves
it; the public key is published (档案室 page, ``GET /api/v1/archive/public-key``)
so that anyone can verify a package without the site's database.

Signatures are ``r || s`` as 128 hex digits; the signer identity in the SM3
``Z`` value is the standard's default ``1234567812345678``.  ``gmssl`` draws
its nonce with :mod:`random`; every nonce here comes from :mod:`secrets`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from gmssl import sm2

#: what the signature elements name (DA/T 46 签名算法标识, DA/T 48 签名算法)
ALGORITHM = "SM2-with-SM3"
ALGORITHM_OID = "1.2.156.10197.1.501"  # SM2 signature with SM3
SIGNER_ID = "1234567812345678"
KEY_FILE = Path("keys") / "archive-sm2.key"
_N = int(sm2.default_ecc_table["n"], 16)
#: DER prefix of an SM2 SubjectPublicKeyInfo (id-ecPublicKey, curve sm2p256v1), before 04||x||y
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
_lock = threading.Lock()


class KeyError_(ValueError):
    """A public key that is neither PEM, DER hex nor 04||x||y hex; the message is Chinese."""


@dataclass(frozen=True)
class KeyPair:
    private_hex: str  # 64 hex digits; empty for a verify-only key
    public_hex: str   # 128 hex digits x||y (no 04 prefix)

    @property
    def fingerprint(self) -> str:
        """The SM3 digest of the public key (04||x||y), how people compare keys by eye."""
        from ..content_types.attachment import _sm3

        h = _sm3()
        h.update(bytes.fromhex("04" + self.public_hex))
        return h.hexdigest()

    def pem(self) -> str:
        return public_pem(self.public_hex)


def _crypt(private_hex: str, public_hex: str) -> sm2.CryptSM2:
    crypt = sm2.CryptSM2(private_key=private_hex, public_key=public_hex)
    crypt.public_key = public_hex  # gmssl's lstrip("04") would eat leading 0/4 digits of x
    return crypt


def public_of(private_hex: str) -> str:
    d = int(private_hex, 16)
    return _crypt(private_hex, "")._kg(d, sm2.default_ecc_table["g"])


def generate() -> KeyPair:
    d = secrets.randbelow(_N - 2) + 1
    private_hex = f"{d:064x}"
    return KeyPair(private_hex, public_of(private_hex))


def digest(public_hex: str, data: bytes) -> bytes:
    """e = SM3(Z_A || data), Z_A = SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A) (GB/T 32918.2).

    What gmssl's ``sign_with_sm3`` hashes, but with OpenSSL's SM3 (gmssl's pure-Python SM3 takes
    seconds per megabyte, and an EEP is megabytes).
    """
    from ..content_types.attachment import _sm3

    table = sm2.default_ecc_table
    z = bytes.fromhex("0080" + SIGNER_ID.encode().hex() + table["a"] + table["b"] + table["g"] + public_hex)
    h = _sm3()
    h.update(z)
    za = bytes.fromhex(h.hexdigest())
    h = _sm3()
    h.update(za)
    h.update(data)
    return bytes.fromhex(h.hexdigest())


def sign(key: KeyPair, data: bytes) -> str:
    """SM2 signature (SM3 digest of Z||data) of ``data``: 128 hex digits."""
    if not key.private_hex:
        raise ValueError("没有私钥，不能签名")
    crypt = _crypt(key.private_hex, key.public_hex)
    e = digest(key.public_hex, data)
    while True:  # gmssl answers None for the (astronomically rare) nonces the standard rejects
        result = crypt.sign(e, f"{secrets.randbelow(_N - 1) + 1:064x}")
        if result:
            return str(result)


def der(signature_hex: str) -> bytes:
    """The signature as DER ``SEQUENCE {r, s}`` (GB/T 35276), what OpenSSL's ``pkeyutl -verify`` reads."""
    from asn1crypto.algos import DSASignature

    return DSASignature({"r": int(signature_hex[:64], 16), "s": int(signature_hex[64:], 16)}).dump()


def verify(public_hex: str, data: bytes, signature_hex: str) -> bool:
    if not re.fullmatch(r"[0-9a-fA-F]{128}", signature_hex or "") or not re.fullmatch(r"[0-9a-fA-F]{128}",
                                                                                      public_hex or ""):
        return False
    try:
        public_hex = public_hex.lower()
        return bool(_crypt("", public_hex).verify(signature_hex.lower(), digest(public_hex, data)))
    except (ValueError, TypeError, ZeroDivisionError):
        return False


# -- the public key as text --------------------------------------------------------------------

def public_pem(public_hex: str) -> str:
    der = _SPKI_PREFIX + bytes.fromhex("04" + public_hex)
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def parse_public(text: str) -> str:
    """A public key given as PEM, DER hex, or ``04||x||y`` / ``x||y`` hex -> ``x||y`` hex."""
    text = (text or "").strip()
    if "BEGIN PUBLIC KEY" in text:
        body = re.sub(r"-----[^-]+-----|\s", "", text)
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise KeyError_("公钥 PEM 无法解码") from exc
    else:
        compact = re.sub(r"\s|:", "", text)
        if not re.fullmatch(r"[0-9a-fA-F]+", compact or "-"):
            raise KeyError_("公钥应为 PEM 或十六进制")
        der = bytes.fromhex(compact) if len(compact) % 2 == 0 else b""
    if der.startswith(_SPKI_PREFIX):
        der = der[len(_SPKI_PREFIX):]
    if len(der) == 65 and der[0] == 4:
        der = der[1:]
    if len(der) != 64:
        raise KeyError_("不是 SM2 公钥（应为 64 字节的 x||y，或带 04 前缀，或 SubjectPublicKeyInfo）")
    return der.hex()


def read_public(value: str) -> str:
    """``--public-key``: a file (PEM or hex) or the key itself."""
    path = Path(value)
    try:
        if len(value) < 4096 and path.is_file():
            value = path.read_text("ascii", errors="replace")
    except OSError:
        pass
    return parse_public(value)


# -- the site's key ----------------------------------------------------------------------------

_cache: dict[str, KeyPair] = {}


def site_key(var_dir: str | Path) -> KeyPair:
    """The site's key pair, made (0600) at first use; cached per var dir."""
    path = Path(var_dir) / KEY_FILE
    held = _cache.get(str(path))
    if held is not None:
        return held
    with _lock:
        if str(path) not in _cache:
            _cache[str(path)] = _load_or_create(path)
        return _cache[str(path)]


def _load_or_create(path: Path) -> KeyPair:
    if path.exists():
        private_hex = path.read_text("ascii").split()[0].strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", private_hex):
            raise ValueError(f"SM2 私钥文件格式错误：{path}")
        return KeyPair(private_hex, public_of(private_hex))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private_hex + "\n")
    try:
        os.link(tmp, path)  # atomic and refuses to replace: two processes racing both read the winner
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    private_hex = path.read_text("ascii").split()[0].strip().lower()
    return KeyPair(private_hex, public_of(private_hex))


def registry_key(registry) -> KeyPair:
    settings = getattr(registry, "settings", None) or {}
    return site_key(settings["duban.var_dir"])
