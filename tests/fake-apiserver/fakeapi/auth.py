"""Who is asking: bearer tokens (with expiry) and x509 client certificates, and the forbid rules that stand
in for RBAC. A mixin of the Fake."""

import time

from .errors import ApiError, gr_name, res_details, status_body


class AuthMixin:
    """Uses self.tokens, self.admin_token, self.forbid and self.lock of the Fake."""

    def authenticate(self, headers, peer_cert=None):
        auth = headers.get("Authorization", "")
        if not auth and peer_cert:
            # x509 client certificate (verified against --client-ca): the user is the subject CN
            for rdn in peer_cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        if not auth.startswith("Bearer "):
            return None
        tok = auth[7:].strip()
        with self.lock:
            t = self.tokens.get(tok)
            if t is None:
                return None
            if t.get("expires") is not None and time.time() >= t["expires"]:
                return None
            return t.get("user", "admin")

    def is_admin(self, headers):
        auth = headers.get("Authorization", "")
        if not self.admin_token:
            return self.authenticate(headers) is not None
        return auth == "Bearer " + self.admin_token

    def check_forbidden(self, user, verb, res, sub, ns, name):
        resource = res.resource + ("/" + sub if sub else "")
        for rule in self.forbid:
            if rule.get("user") not in (None, user):
                continue
            if rule.get("verb") not in (None, verb):
                continue
            if rule.get("resource") not in (None, resource):
                continue
            target = '%s "%s"' % (gr_name(res), name) if name else gr_name(res)
            where = ' in the namespace "%s"' % ns if ns else (" at the cluster scope" if not res.namespaced else "")
            msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s' % (
                target,
                user,
                verb,
                resource,
                res.group,
                where,
            )
            det = res_details(res, name) if name else {"group": res.group, "kind": res.resource} if res.group else {"kind": res.resource}
            raise ApiError(403, status_body(403, "Forbidden", msg, det))
