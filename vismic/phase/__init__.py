"""Local phase of DTCWT coefficients relative to a reference frame, and their amplitude."""

from ._local_phase import LocalPhase, local_frequency, local_phase

__all__ = ["local_phase", "local_frequency", "LocalPhase"]
