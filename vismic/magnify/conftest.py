"""pytest (``--doctest-modules``): skip the modules that need torch when it is not installed."""

import importlib.util
import sys


def _has_torch() -> bool:
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return importlib.util.find_spec("torch") is not None


collect_ignore = [] if _has_torch() else ["model.py"]
