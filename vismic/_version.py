"""The one place vismic's version is written (read by setup.cfg and ``vismic.__version__``)."""

__version__ = "0.1.0"
