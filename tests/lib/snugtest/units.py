"""Units the harnesses compute with: MiB, and Kubernetes resource quantities as exact fractions.

quantity() reads the grammar of k8s.io/apimachinery/pkg/api/resource ParseQuantity: a signed decimal
number, then a binary suffix (Ki … Ei), a decimal one (n u m "" k M G T P E) or a decimal exponent
(e/E and a signed integer)."""

import fractions
import re

MiB = 1 << 20

_NUMBER = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")
_EXPONENT = re.compile(r"^[eE]([+-]?[0-9]+)$")
_SUFFIX = {
    "n": fractions.Fraction(1, 10**9), "u": fractions.Fraction(1, 10**6), "m": fractions.Fraction(1, 1000),
    "": fractions.Fraction(1), "k": fractions.Fraction(10**3), "M": fractions.Fraction(10**6),
    "G": fractions.Fraction(10**9), "T": fractions.Fraction(10**12), "P": fractions.Fraction(10**15),
    "E": fractions.Fraction(10**18),
    "Ki": fractions.Fraction(2**10), "Mi": fractions.Fraction(2**20), "Gi": fractions.Fraction(2**30),
    "Ti": fractions.Fraction(2**40), "Pi": fractions.Fraction(2**50), "Ei": fractions.Fraction(2**60),
}


def quantity(q):
    """A quantity ("250m", "1.5Gi", "1e3", or an int or float) as a Fraction: cores for CPU, bytes for
    memory. ValueError on anything else."""
    if isinstance(q, bool):
        raise ValueError("bad quantity %r" % (q,))
    if isinstance(q, int):
        return fractions.Fraction(q)
    if isinstance(q, float):
        return fractions.Fraction(str(q))
    m = _NUMBER.match(str(q).strip())
    if not m:
        raise ValueError("bad quantity %r" % (q,))
    number, suffix = fractions.Fraction(m.group(1)), m.group(2)
    if suffix in _SUFFIX:
        return number * _SUFFIX[suffix]
    e = _EXPONENT.match(suffix)
    if e:
        return number * fractions.Fraction(10) ** int(e.group(1))
    raise ValueError("bad quantity %r" % (q,))
