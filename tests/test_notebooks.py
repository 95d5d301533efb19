"""Every notebook in notebooks/ runs from top to bottom, and is stored with its plots.

To refresh the stored outputs after changing a notebook::

    python tests/test_notebooks.py            # executes each notebook in place
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_STORED_BYTES = 600_000


def execute(path: Path):
    """Run ``path`` in a fresh kernel (working directory: notebooks/) and return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # The kernel is a child process: it must import this checkout's vismic, and draw without a display.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "real_footage.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_with_its_plots(path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "store the notebook executed (see this module)"
    outputs = [output for cell in code for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    assert not any(output.get("output_type") == "error" for output in outputs)
    assert path.stat().st_size < MAX_STORED_BYTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    if path.stem == "magnify":
        pytest.importorskip("torch")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    # execute() sets these for the kernel; monkeypatch restores them after the test
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "agg"))
    notebook = execute(path)
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images


def test_real_footage_notebook_runs_without_the_footage(tmp_path, monkeypatch):
    """Where ../shared/footage exists the run above used it; a user's machine takes the rendered stand-in."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("VISMIC_FOOTAGE", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "agg"))
    notebook = execute(ROOT / "notebooks" / "real_footage.ipynb")
    printed = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "rendered stand-in" in printed


if __name__ == "__main__":  # pragma: no cover - refreshes the stored outputs
    import nbformat

    for path in sys.argv[1:] and [Path(p) for p in sys.argv[1:]] or NOTEBOOKS:
        nbformat.write(execute(path.resolve()), path)
        print(f"executed {path} ({path.stat().st_size // 1024} KB)")
