"""The command line: parse the options, build the Fake, start the kubelet simulator and serve HTTPS."""

import argparse
import os
import signal
import ssl
import sys
import threading

from .certs import make_certs, write_kubeconfig
from .handler import Handler, QuietServer
from .kubelet import Kubelet
from .state import Fake


def parse_args(argv):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA (user = CN)")
    ap.add_argument("--gen-certs", metavar="DIR", help="make a throwaway CA + server cert into DIR and use them")
    ap.add_argument("--plain-http", action="store_true", help="no TLS (only to test that a client refuses it)")
    ap.add_argument("--token", action="append", default=[], help="TOKEN or TOKEN:USER (repeatable)")
    ap.add_argument("--token-file", action="append", default=[], help="file with one TOKEN[:USER] per line")
    ap.add_argument("--admin-token", default=None, help="bearer token for /_fake/ (default: any valid token)")
    ap.add_argument("--version", default="1.36")
    ap.add_argument("--feature-gate-off", action="store_true", help="InPlacePodVerticalScaling off")
    ap.add_argument("--state-file")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig (CA data + first token) here")
    ap.add_argument("--history", type=int, default=1000, help="watch event history kept (older rv -> 410)")
    ap.add_argument("--bookmark-interval", type=float, default=5.0)
    ap.add_argument("--request-log", type=int, default=10000)
    ap.add_argument("--kubelet-delay", type=float, default=None)
    ap.add_argument("--kubelet-auto-start", action="store_true")
    ap.add_argument("--cgroup-root")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    fake = Fake(args)
    for t in args.token:
        tok, _, user = t.partition(":")
        fake.tokens[tok] = {"user": user or "admin"}
    for tf in args.token_file:
        with open(tf) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    tok, _, user = line.partition(":")
                    fake.tokens[tok] = {"user": user or "admin"}
    if args.kubelet_delay is not None:
        fake.kubelet["delay"] = args.kubelet_delay
    if args.kubelet_auto_start:
        fake.kubelet["auto_start"] = True
    if args.cgroup_root:
        fake.kubelet["cgroup_root"] = args.cgroup_root
    fake.load_state()
    ctx = None
    ca_for_kubeconfig = None
    if not args.plain_http:
        cert, key = args.cert, args.key
        if args.gen_certs:
            p = make_certs(args.gen_certs)
            cert, key = p["server.crt"], p["server.key"]
            ca_for_kubeconfig = p["ca.crt"]
        if not cert or not key:
            sys.exit("fake-apiserver: --cert and --key (or --gen-certs DIR) are required")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
    Handler.fake = fake
    Handler.ssl_ctx = ctx
    httpd = QuietServer((args.bind, args.port), Handler)
    fake.port = httpd.server_address[1]
    if args.kubeconfig_out and ca_for_kubeconfig and fake.tokens:
        write_kubeconfig(args.kubeconfig_out, fake.port, ca_for_kubeconfig, next(iter(fake.tokens)))
    Kubelet(fake).start()

    def stop(signum, frame):
        fake.stop_event.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % fake.port)
        os.replace(tmp, args.port_file)
    print("fake-apiserver: listening on %s://127.0.0.1:%d (version %s, resize %s)" % ("http" if args.plain_http else "https", fake.port, fake.version, fake.resize_mode), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        fake.stop_event.set()
        fake.save_state()
        httpd.server_close()
