"""The apiserver's errors: ApiError carrying a Status body, and one constructor per error the fake answers
with (NotFound, AlreadyExists, Conflict, BadRequest, Invalid with its field causes, …)."""

import json


class ApiError(Exception):
    def __init__(self, code, body, headers=None):
        super().__init__(body.get("message", ""))
        self.code = code
        self.body = body
        self.headers = headers or {}


def status_body(code, reason, message, details=None, status="Failure"):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status}
    if message is not None:
        d["message"] = message
    if reason:
        d["reason"] = reason
    if details is not None:
        d["details"] = details
    d["code"] = code
    return d


def gr_name(res):
    """'pods' / 'replicasets.apps' as the apiserver prints a group resource."""
    return res.resource if not res.group else "%s.%s" % (res.resource, res.group)


def res_details(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.resource
    return d


def err_not_found(res, name):
    return ApiError(404, status_body(404, "NotFound", '%s "%s" not found' % (gr_name(res), name), res_details(res, name)))


def err_already_exists(res, name):
    return ApiError(
        409, status_body(409, "AlreadyExists", '%s "%s" already exists' % (gr_name(res), name), res_details(res, name))
    )


def err_conflict(res, name):
    return ApiError(
        409,
        status_body(
            409,
            "Conflict",
            'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes '
            "to the latest version and try again" % (gr_name(res), name),
            res_details(res, name),
        ),
    )


def err_no_route():
    return ApiError(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))


def err_bad_request(message):
    return ApiError(400, status_body(400, "BadRequest", message))


def err_method_not_allowed(method):
    return ApiError(
        405, status_body(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    )


def err_unsupported_media(ct):
    return ApiError(
        415,
        status_body(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
            "application/strategic-merge-patch+json",
        ),
    )


class FieldErr:
    """One field.Error: reason FieldValueInvalid/Forbidden/Required/NotSupported."""

    def __init__(self, reason, field, detail, value=None):
        self.reason = reason
        self.field = field
        self.detail = detail
        self.value = value

    def cause_message(self):
        if self.reason == "FieldValueInvalid":
            return "Invalid value: %s: %s" % (json.dumps(self.value), self.detail)
        if self.reason == "FieldValueForbidden":
            return "Forbidden: %s" % self.detail
        if self.reason == "FieldValueRequired":
            return "Required value" + (": " + self.detail if self.detail else "")
        return self.detail

    def full(self):
        return "%s: %s" % (self.field, self.cause_message())


def err_invalid(kind, name, errs, group=None):
    if len(errs) == 1:
        agg = errs[0].full()
    else:
        agg = "[" + ", ".join(e.full() for e in errs) + "]"
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": e.reason, "message": e.cause_message(), "field": e.field} for e in errs]
    return ApiError(422, status_body(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, agg), details))


UNAUTHORIZED = status_body(401, "Unauthorized", "Unauthorized")
