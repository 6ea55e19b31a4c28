"""The apiserver's HorizontalPodAutoscaler (autoscaling/v2) rules on create: the defaults
(pkg/apis/autoscaling/v2/defaults.go SetDefaults_HorizontalPodAutoscaler and
SetDefaults_HorizontalPodAutoscalerBehavior) and the checks of
pkg/apis/autoscaling/validation/validation.go ValidateHorizontalPodAutoscaler that a client can trip
(scaleTargetRef, replica bounds, metric targets)."""

from .errors import FieldErr, err_invalid

DEFAULT_CPU_UTILIZATION = 80  # pkg/apis/autoscaling DefaultCPUUtilization


def hpa_defaults(obj):
    spec = obj.setdefault("spec", {})
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    # behavior is defaulted only where the client gave one (nil stays nil)
    b = spec.get("behavior")
    if isinstance(b, dict):
        up = b.setdefault("scaleUp", {})
        up.setdefault("stabilizationWindowSeconds", 0)
        up.setdefault("selectPolicy", "Max")
        up.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                   {"type": "Percent", "value": 100, "periodSeconds": 15}])
        down = b.setdefault("scaleDown", {})
        down.setdefault("selectPolicy", "Max")
        down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    obj.setdefault("status", {"desiredReplicas": 0, "currentMetrics": None})
    return obj


def _metric_errs(i, m):
    errs = []
    path = "spec.metrics[%d]" % i
    t = m.get("type")
    if t not in ("Object", "Pods", "Resource", "ContainerResource", "External"):
        return [FieldErr("FieldValueNotSupported" if t else "FieldValueRequired", path + ".type", t or "")]
    if t not in ("Resource", "ContainerResource"):
        return errs
    key = "resource" if t == "Resource" else "containerResource"
    src = m.get(key)
    if not isinstance(src, dict):
        return [FieldErr("FieldValueRequired", "%s.%s" % (path, key), "must populate information for the given metric source")]
    if not src.get("name"):
        errs.append(FieldErr("FieldValueRequired", "%s.%s.name" % (path, key), "must specify a resource name"))
    if t == "ContainerResource" and not src.get("container"):
        errs.append(FieldErr("FieldValueRequired", "%s.%s.container" % (path, key), "must specify a container"))
    tgt = src.get("target") or {}
    tt = tgt.get("type")
    tpath = "%s.%s.target" % (path, key)
    if tt == "Utilization" and tgt.get("averageUtilization") is None:
        errs.append(FieldErr("FieldValueRequired", tpath + ".averageUtilization",
                             "must set either a target raw value or a target utilization"))
    elif tt == "AverageValue" and tgt.get("averageValue") is None:
        errs.append(FieldErr("FieldValueRequired", tpath + ".averageValue",
                             "must set either a target raw value or a target utilization"))
    elif tt not in ("Utilization", "AverageValue"):
        errs.append(FieldErr("FieldValueRequired" if not tt else "FieldValueNotSupported", tpath + ".type",
                             "must specify a metric target type" if not tt else tt))
    if tgt.get("averageUtilization") is not None and tgt.get("averageValue") is not None:
        errs.append(FieldErr("FieldValueForbidden", tpath + ".averageValue",
                             "may not set both a target raw value and a target utilization"))
    return errs


def hpa_validate(obj):
    """The errors in the order the real server lists them (kube-apiserver 1.36.2: replica bounds, then
    scaleTargetRef, then metrics), under the group-qualified kind NewInvalid prints."""
    spec = obj.get("spec") or {}
    name = obj["metadata"]["name"]
    errs = []
    mn, mx = spec.get("minReplicas"), spec.get("maxReplicas")
    if not isinstance(mx, int) or mx < 1:
        errs.append(FieldErr("FieldValueRequired", "spec.maxReplicas", "must be set and greater than 0"))
    if isinstance(mn, int) and (mx if isinstance(mx, int) else 0) < mn:
        errs.append(FieldErr("FieldValueInvalid", "spec.maxReplicas",
                             "must be greater than or equal to `minReplicas`", mx if isinstance(mx, int) else 0))
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        errs.append(FieldErr("FieldValueRequired", "spec.scaleTargetRef.kind", ""))
    if not ref.get("name"):
        errs.append(FieldErr("FieldValueRequired", "spec.scaleTargetRef.name", ""))
    if "/" not in (ref.get("apiVersion") or ""):
        errs.append(FieldErr("FieldValueInvalid", "spec.scaleTargetRef.apiVersion", "apiVersion must specify API group",
                             ref.get("apiVersion") or ""))
    for i, m in enumerate(spec.get("metrics") or []):
        errs += _metric_errs(i, m if isinstance(m, dict) else {})
    if errs:
        e = err_invalid("HorizontalPodAutoscaler", name, errs, group="autoscaling")
        e.body["message"] = "HorizontalPodAutoscaler.autoscaling" + e.body["message"][len("HorizontalPodAutoscaler"):]
        raise e
