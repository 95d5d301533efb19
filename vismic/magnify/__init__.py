"""Learning-based motion magnification (MagNet, Oh et al., ECCV 2018).

``import vismic.magnify`` does not import torch; it is loaded when a model is
built or run. Install it with ``pip install torch`` (or the ``vismic[torch]``
extra).
"""
