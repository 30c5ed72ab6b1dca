"""Sphinx configuration for the jwtlab site: guides, reference, and the notebooks
rendered from their committed outputs (nothing is executed at build time)."""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The notebooks live in notebooks/ at the top of the repo; Sphinx reads them from a
# copy inside the source tree (docs/notebooks/, not committed).
_copy = HERE / "notebooks"
shutil.rmtree(_copy, ignore_errors=True)
_copy.mkdir()
for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
    shutil.copy2(notebook, _copy / notebook.name)

project = "jwtlab"
author = "the jwtlab developers"
copyright = "2026, the jwtlab developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

nb_execution_mode = "off"  # the committed outputs are the ones nbval checks
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
myst_fence_as_directive = ["mermaid"]  # ```mermaid blocks, as JupyterLab renders them

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "furo"
html_title = "jwtlab"
html_static_path: list[str] = []
