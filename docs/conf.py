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
html_static_path = ["_static"]

# Diagrams without a network. sphinxcontrib-mermaid writes each ```mermaid block as
# <pre class="mermaid"> and, by default, imports mermaid as an ES module from a CDN: offline
# the diagrams stay source text. Even its local option (mermaid_use_local) is an ES module
# import, which browsers refuse for a site opened from disk. So the site ships a pinned copy of
# mermaid (npm's mermaid, dist/mermaid.min.js; the version JupyterLab 4.6 draws with, so a
# diagram looks the same in the lab and on the site) and loads it as a classic script on the
# pages that have a diagram; tests/test_docs_offline.py checks them in an offline Chromium.
MERMAID_JS = "mermaid/mermaid-11.16.1.min.js"


def _replace_mermaid_loader(app) -> None:
    from sphinxcontrib import mermaid as sphinx_mermaid

    listeners = app.events.listeners["html-page-context"]
    theirs = [listener for listener in listeners if listener.handler is sphinx_mermaid.install_js]
    if not theirs:
        raise RuntimeError(
            "sphinxcontrib-mermaid no longer loads mermaid through install_js: check docs/conf.py "
            "against its new version so the diagrams still draw offline"
        )
    for listener in theirs:
        app.disconnect(listener.id)

    def add_local_mermaid(app, pagename, templatename, context, doctree) -> None:
        if doctree is not None and doctree.next_node(sphinx_mermaid.mermaid) is not None:
            app.add_js_file(MERMAID_JS)
            app.add_js_file("mermaid/render.js")

    app.connect("html-page-context", add_local_mermaid)


def setup(app) -> None:
    _replace_mermaid_loader(app)
