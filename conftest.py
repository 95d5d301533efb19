"""Doctest collection: skip the modules that need PyTorch when it is not installed."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("vismic/magnify/model.py")
