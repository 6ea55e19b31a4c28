"""Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource.Quantity) for the fake API
server and its kubelet: parsing to exact fractions, and the canonical string the apiserver stores.

Standard library only."""

import fractions
import math
import re

_QUANTITY_RE = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIX = {
    "n": fractions.Fraction(1, 10**9),
    "u": fractions.Fraction(1, 10**6),
    "m": fractions.Fraction(1, 1000),
    "": fractions.Fraction(1),
    "k": fractions.Fraction(10**3),
    "M": fractions.Fraction(10**6),
    "G": fractions.Fraction(10**9),
    "T": fractions.Fraction(10**12),
    "P": fractions.Fraction(10**15),
    "E": fractions.Fraction(10**18),
    "Ki": fractions.Fraction(2**10),
    "Mi": fractions.Fraction(2**20),
    "Gi": fractions.Fraction(2**30),
    "Ti": fractions.Fraction(2**40),
    "Pi": fractions.Fraction(2**50),
    "Ei": fractions.Fraction(2**60),
}
QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse_quantity(q):
    """Kubernetes resource.Quantity -> Fraction; ValueError on anything the apiserver refuses."""
    if isinstance(q, bool):
        raise ValueError(QUANTITY_ERROR)
    if isinstance(q, int):
        return fractions.Fraction(q)
    if isinstance(q, float):
        return fractions.Fraction(str(q))
    if not isinstance(q, str):
        raise ValueError(QUANTITY_ERROR)
    m = _QUANTITY_RE.match(q.strip())
    if not m:
        raise ValueError(QUANTITY_ERROR)
    num = fractions.Fraction(m.group(1))
    suf = m.group(2)
    if suf in _SUFFIX:
        return num * _SUFFIX[suf]
    if suf[:1] in ("e", "E") and re.match(r"^[eE][-+]?[0-9]+$", suf):
        return num * fractions.Fraction(10) ** int(suf[1:])
    raise ValueError(QUANTITY_ERROR)


_DEC_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BIN_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


def canonical_quantity(q):
    """The string a real apiserver stores for a quantity (resource.Quantity.String()): the format of
    the suffix is kept (binary / decimal / exponent), the mantissa is the smallest integer, values
    below 1e-9 round up. "0.1" -> "100m", "2000m" -> "2", "1024Mi" -> "1Gi", "1.5Gi" -> "1536Mi"."""
    if not isinstance(q, str):
        q = str(q)
    v = parse_quantity(q)
    if v == 0:
        return "0"
    m = _QUANTITY_RE.match(q.strip())
    suf = m.group(2) if m else ""
    fmt = "bin" if suf.endswith("i") else ("exp" if suf[:1] in ("e", "E") else "dec")
    neg = v < 0
    v = abs(v)
    scaled = v * 10**9
    if scaled.denominator != 1:
        v = fractions.Fraction(math.ceil(scaled), 10**9)
    sign = "-" if neg else ""
    if fmt == "bin":
        if v < 1024 or v.denominator != 1:
            fmt = "dec"
        else:
            n, e = int(v), 0
            while n % 1024 == 0 and e < 6:
                n //= 1024
                e += 1
            return sign + str(n) + _BIN_SUFFIX[e]
    n, e = int(v * 10**9), -9
    while n % 1000 == 0 and e < 18:
        n //= 1000
        e += 3
    if fmt == "exp":
        return sign + str(n) + ("" if e == 0 else "e%d" % e)
    return sign + str(n) + _DEC_SUFFIX[e]


def milli_value(q):
    """resource.Quantity.MilliValue(): thousandths, rounded up; a missing quantity is 0."""
    if q is None:
        return 0
    return int(math.ceil(parse_quantity(q) * 1000))


def value(q):
    """resource.Quantity.Value(): the integer value, rounded up; a missing quantity is 0."""
    if q is None:
        return 0
    return int(math.ceil(parse_quantity(q)))


def milli_quantity(milli):
    """resource.NewMilliQuantity(milli, DecimalSI) as it reads back from the apiserver."""
    return canonical_quantity("%dm" % milli)


def bytes_quantity(n):
    """resource.NewQuantity(n, BinarySI) as it reads back from the apiserver: the kubelet sends the
    largest exact binary suffix ("256Mi", "250000Ki") or the plain number, which the apiserver parses
    as decimal ("300000000" -> "300M")."""
    if n >= 1024 and n % 1024 == 0:
        return canonical_quantity("%dKi" % (n // 1024))
    return canonical_quantity(str(n))
