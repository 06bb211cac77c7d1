#!/usr/bin/python3
"""Runs the original PATHspider's `observe` (through pspdr-peer's workarounds) with one change:
the observer's timer bins are insertion-ordered sets instead of Python sets, so that flows that
expire in the same second come out in the order they completed (a Python set of strings iterates
in an order that changes with each process's hash seed). Everything else is the original's code.
Used by tests/unit/observer_cli_test.ts to compare our output with the original's byte for byte.
"""
import os
import sys

PEER = os.environ.get("PSPDR_PEER", "/work/shared/peer/pspdr-peer")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(PEER)), "lib"))
import pltfix  # noqa: E402,F401  (pspdr-peer's plt.trace workaround)
import pathspider.observer as observer  # noqa: E402


class OrderedSet(dict):
    """The few set operations observer.py uses, keeping insertion order."""

    def __init__(self, items=()):
        super().__init__((k, None) for k in items)

    def __ior__(self, other):
        for k in other:
            self[k] = None
        return self

    def __isub__(self, other):
        for k in other:
            self.pop(k, None)
        return self

    def copy(self):
        return OrderedSet(self.keys())

    def __iter__(self):
        return iter(list(self.keys()))


observer.set = OrderedSet

from pathspider.cmd.base import handle_args  # noqa: E402

sys.argv[0] = "pspdr"
handle_args(sys.argv)
