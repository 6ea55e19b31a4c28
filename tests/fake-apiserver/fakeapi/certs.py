"""Throwaway certificates (openssl CLI) and kubeconfigs for the fake."""

import base64
import os
import subprocess


def make_certs(directory, cn="localhost", client_cn="snug-agent"):
    """Make a throwaway CA, a server cert (SAN IP:127.0.0.1, IP:::1, DNS:localhost) and a client
    cert with the openssl CLI. Returns a dict of paths."""
    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, k) for k in ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")}

    def run(*a):
        subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "3", "-subj", "/CN=fake-apiserver-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for which, subj, ext in (
        ("server", "/CN=" + cn, "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"),
        ("client", "/CN=" + client_cn, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"),
    ):
        csr = os.path.join(directory, which + ".csr")
        extf = os.path.join(directory, which + ".ext")
        with open(extf, "w") as f:
            f.write(ext)
        run("req", "-new", *ec, "-keyout", p[which + ".key"], "-out", csr, "-subj", subj)
        run("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial", "-out", p[which + ".crt"], "-days", "3", "-extfile", extf)
    return p


def write_kubeconfig(path, port, ca, token, cert=None, key=None):
    """A kubeconfig for the fake: CA as data, and a bearer token or a client certificate/key as data."""

    def b64(p):
        with open(p, "rb") as f:
            return base64.b64encode(f.read()).decode()

    if cert:
        user = "    client-certificate-data: %s\n    client-key-data: %s\n" % (b64(cert), b64(key))
    else:
        user = "    token: %s\n" % token
    text = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%d\n"
        "    certificate-authority-data: %s\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
        "current-context: fake\nusers:\n- name: fake\n  user:\n%s" % (port, b64(ca), user)
    )
    with open(path, "w") as f:
        f.write(text)
