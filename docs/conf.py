"""Sphinx configuration for vismic's documentation (build: sphinx-build -W --keep-going -b html docs docs/_build/html)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vismic._version import __version__  # noqa: E402

project = "vismic"
author = "the vismic developers"
copyright = "2026, the vismic developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# The API pages list each subpackage's public names (its __all__); the code lives in private modules.
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
autodoc_typehints = "none"            # numpydoc's Parameters sections carry the types
autosummary_generate = False
numpydoc_show_class_members = False   # autodoc lists members; numpydoc's tables would duplicate them
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# MagNet needs PyTorch; the reference builds without it.
if importlib.util.find_spec("torch") is None:
    autodoc_mock_imports = ["torch"]

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"vismic {__version__}"
html_static_path = []


def _write_cli_help(app):
    """The command line's --help texts, generated from the parser so they never drift."""
    from vismic.cli import build_parser

    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    parser = build_parser()
    texts = [("vismic", parser.format_help())]
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    texts += [(f"vismic {name}", sub.format_help()) for name, sub in subparsers.choices.items()]
    for name, text in texts:
        target = out / (name.replace(" ", "_") + ".txt")
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_cli_help)
