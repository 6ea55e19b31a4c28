"""Small helpers every part of the fake uses: timestamps as the apiserver writes them, deep copies,
generated name suffixes."""

import copy
import random
import time

def now_iso(offset=0.0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def dcopy(o):
    return copy.deepcopy(o)


def rand_suffix(n=5):
    # the same alphabet the apiserver's name generator uses (no vowels, no confusable digits)
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))
