"""The handlers that make keys: create_saml_keys (RSA key and self-signed certificate), cluster_generate_keys
(the node's SSH key pair for HA).

Keys are made in process with the `cryptography` package (no host tool runs), in the formats the real scripts'
tools write: PKCS#8 PEM private key and PEM certificate (openssl req), OpenSSH private and public key
(ssh-keygen -t ed25519).
"""

from __future__ import annotations

from alation_shell.commands.actions import read_file
from alation_shell.commands.base import Context
from alation_shell.node import clock, layout

SAML_DIR = "/" + layout.SAML_DIR
CLUSTER_DIR = "/opt/alation/site/cluster"
SAML_KEY_BITS = 2048
SAML_VALID_DAYS = 3650


def saml_key_pair(common_name: str) -> tuple[bytes, bytes]:
    """(private key as PKCS#8 PEM, self-signed X.509 certificate as PEM) for `common_name`, valid 10 years."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=SAML_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=SAML_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return private, certificate.public_bytes(serialization.Encoding.PEM)


def ssh_key_pair(comment: str) -> tuple[bytes, bytes]:
    """(OpenSSH private key, `ssh-ed25519 BASE64 comment` public key line) of a new Ed25519 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public + f" {comment}\n".encode()


def create_saml_keys(ctx: Context) -> int:
    """Generate an RSA private key and its self-signed certificate for SAML (replaces existing ones)."""
    existed = read_file(ctx, f"{SAML_DIR}/private.pem") is not None
    private, certificate = saml_key_pair(ctx.session.hostname)
    made = clock.timestamp(ctx.instance)
    ctx.instance.write_file(f"{SAML_DIR}/private.pem", private, mode=0o600, mtime=made)
    ctx.instance.write_file(f"{SAML_DIR}/public.pem", certificate, mode=0o644, mtime=made)
    ctx.out(f"Generated a {SAML_KEY_BITS}-bit RSA key pair for SAML (CN={ctx.session.hostname}, valid 10 years):")
    ctx.out(f"  {SAML_DIR}/private.pem   private key (mode 600)")
    ctx.out(f"  {SAML_DIR}/public.pem    certificate")
    if existed:
        ctx.err("note: the previous keys were replaced: give the new public.pem to your identity provider")
    return 0


def cluster_generate_keys(ctx: Context) -> int:
    """Generate this node's SSH key pair for HA, once; existing keys are kept (safe, no restart)."""
    private_path, public_path = f"{CLUSTER_DIR}/cluster_key", f"{CLUSTER_DIR}/cluster_key.pub"
    key = read_file(ctx, public_path)
    if read_file(ctx, private_path) is not None and key is not None:
        ctx.out(f"The cluster keys already exist in {CLUSTER_DIR}; kept them.")
    else:
        private, key = ssh_key_pair(f"alation-cluster@{ctx.session.hostname}")
        made = clock.timestamp(ctx.instance)
        ctx.instance.write_file(private_path, private, mode=0o600, mtime=made)
        ctx.instance.write_file(public_path, key, mode=0o644, mtime=made)
        ctx.out(f"Generated the cluster SSH key pair in {CLUSTER_DIR} (cluster_key, cluster_key.pub).")
    ctx.out("Public key, for the other node of the pair:")
    ctx.out(key.decode("utf-8", "replace").strip())
    ctx.out("Safe, no restart of services required.")
    return 0
