"""The HTTP side: the threading server and the request handler that authenticates, applies injected faults
and routes each API path to the Fake's verbs."""

import json
import socket
import ssl
import sys
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .control import ControlMixin
from .decoding import check_delete_options
from .errors import ApiError, UNAUTHORIZED, err_bad_request, err_method_not_allowed, err_no_route, status_body
from .kinds import RESOURCES
from .versions import GROUPS, RESIZE_SUBRESOURCE, core_discovery, group_discovery
from .watch import WatchMixin


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            return
        traceback.print_exc()


class Handler(WatchMixin, ControlMixin, BaseHTTPRequestHandler):
    """One connection: reads each request, logs it, answers /_fake/ (ControlMixin), applies a matching
    injected fault (ControlMixin), authenticates, authorizes and routes to the Fake; watches are streamed
    by the WatchMixin. main() sets fake and ssl_ctx."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY each reply waits for a delayed ACK
    disable_nagle_algorithm = True
    server_version = "fake-apiserver"
    sys_version = ""
    fake = None  # set by main
    ssl_ctx = None

    def setup(self):
        if self.ssl_ctx is not None:
            self.request.settimeout(30)
            self.request = self.ssl_ctx.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *a):
        if self.fake.args.verbose:
            sys.stderr.write("fake-apiserver: %s\n" % (fmt % a))

    # ---- plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        drop_half = getattr(self, "_drop_mid", False)
        if drop_half:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.abort_connection()
            return
        self.wfile.write(data)
        self._sent_mono = time.monotonic()
        self.wfile.flush()
        self._status = code

    def abort_connection(self):
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        fake = self.fake
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()
        self._status = None
        self._drop_mid = False
        self._sent_mono = None
        # mono/done_mono: CLOCK_MONOTONIC (shared by every process on the host) when the request was
        # read and when its reply was sent, so a benchmark can time the agent against its own clock.
        entry = {
            "time": time.time(),
            "mono": time.monotonic(),
            "done_mono": None,
            "method": method,
            "path": path,
            "query": q,
            "raw_query": url.query,
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "accept": self.headers.get("Accept"),
            "body": None,
            "status": None,
        }
        if body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = body.decode("utf-8", "replace")
        is_control = path.startswith("/_fake/")
        if not is_control:
            with fake.lock:
                fake.requests.append(entry)
        try:
            if is_control:
                if not fake.is_admin(self.headers):
                    self.send_json(401, UNAUTHORIZED)
                    return
                self.control(method, path, q, body)
                return
            # fault injection
            action = self.match_fault(method, path, url.query)
            if action is not None and self.apply_fault(action, path, entry):
                return
            peer = None
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    peer = self.connection.getpeercert()
                except (ValueError, ssl.SSLError):
                    peer = None
            user = fake.authenticate(self.headers, peer)
            if user is None:
                entry["status"] = 401
                self.send_json(401, UNAUTHORIZED)
                return
            entry["user"] = user
            self.route(method, path, q, body, user, entry)
        except ApiError as e:
            entry["status"] = e.code
            entry["response"] = e.body
            self.send_json(e.code, e.body, e.headers)
        except (ConnectionError, BrokenPipeError, ssl.SSLError):
            self.close_connection = True
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
            # a body of the wrong shape that no explicit check caught: the real decoder answers 400
            sys.stderr.write("fake-apiserver: %s %s: malformed input: %r\n" % (method, self.path, e))
            traceback.print_exc()
            entry["status"] = 400
            self.send_json(400, status_body(400, "BadRequest", "the server rejected the request: %s" % e))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            entry["status"] = 500
            self.send_json(500, status_body(500, "InternalError", "Internal error occurred: %s" % e))
        finally:
            entry["done_mono"] = self._sent_mono or time.monotonic()

    # ---- the API
    def route(self, method, path, q, body, user, entry):
        fake = self.fake
        parts = [p for p in path.split("/") if p]
        if path in ("/version", "/version/"):
            return self.reply(entry, 200, fake.version_body())
        if path in ("/healthz", "/livez", "/readyz"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            entry["status"] = 200
            return
        if parts == ["api"]:
            return self.reply(entry, 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % (fake.port or 0)}]})
        if parts == ["api", "v1"]:
            return self.reply(entry, 200, core_discovery(fake))
        if parts == ["apis"]:
            groups = [
                {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs], "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}}
                for g, vs in GROUPS.items()
            ]
            return self.reply(entry, 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in GROUPS and parts[2] in GROUPS[parts[1]]:
            return self.reply(entry, 200, group_discovery(parts[1], parts[2]))
        if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise err_no_route()
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = RESOURCES.get((group, version, rest[0]))
        if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
            raise err_no_route()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and sub not in res.subs:
            raise err_no_route()
        if sub == "resize" and fake.resize_mode != RESIZE_SUBRESOURCE:
            raise err_no_route()
        if res.namespaced and name is not None and ns is None:
            raise err_no_route()
        dry_run = q.get("dryRun") == "All"
        obj = None
        if method in ("POST", "PUT") and body:
            try:
                obj = json.loads(body)
            except ValueError as e:
                raise err_bad_request("json: %s" % e)
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if method == "GET" and name is None:
            verb = "watch" if q.get("watch") in ("1", "true", "True") else "list"
        fake.check_forbidden(user, verb, res, sub, ns, name)
        if name is None:
            if method == "GET":
                if verb == "watch":
                    return self.watch(res, ns, q, entry)
                return self.reply(entry, 200, fake.list(res, ns, q))
            if method == "POST":
                if res.namespaced and ns is None:
                    raise err_method_not_allowed(method)
                return self.reply(entry, 201, fake.create(res, ns, obj, dry_run))
            raise err_method_not_allowed(method)
        if sub == "eviction":
            if method != "POST":
                raise err_method_not_allowed(method)
            return self.reply(entry, 201, fake.evict(ns, name, obj, q))
        if method == "GET":
            return self.reply(entry, 200, fake.get(res, ns, name))
        if method in ("PUT", "PATCH"):
            out = fake.update(res, ns, name, sub, obj, method, self.headers.get("Content-Type"), body, dry_run, q)
            return self.reply(entry, 200, out)
        if method == "DELETE":
            opts = None
            if body:
                try:
                    opts = json.loads(body)
                except ValueError as e:
                    raise err_bad_request("json: %s" % e)
            opts = check_delete_options(opts)
            if "gracePeriodSeconds" in q:
                try:
                    opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
                except ValueError:
                    raise err_bad_request('strconv.ParseInt: parsing "%s": invalid syntax' % q["gracePeriodSeconds"])
            dr = dry_run or "All" in (opts.get("dryRun") or [])
            return self.reply(entry, 200, fake.delete(res, ns, name, opts, dr))
        raise err_method_not_allowed(method)

    def reply(self, entry, code, obj, headers=None):
        entry["status"] = code
        self.send_json(code, obj, headers)
