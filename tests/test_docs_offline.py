"""The docs site draws its diagrams without a network: every ```mermaid block of the rendered
notebooks becomes an SVG in a headless Chromium that is offline and opens the site from disk.

The site is the one `make docs` built (`make test` builds it first and passes its folder in
$JWTLAB_DOCS_HTML); run alone, the test builds its own copy. Chromium is Debian's package
(`.ci/ensure-chromium` installs it); $JWTLAB_CHROMIUM points at another binary.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import require_chromium
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parent.parent
#: The notebooks whose diagrams are the point: the login flows' sequence diagrams, the topology.
NOTEBOOK_PAGES_WITH_DIAGRAMS = (
    "notebooks/07-replication-and-failover.html",
    "notebooks/11-login-flow-1.html",
    "notebooks/12-login-flow-2.html",
)


# Without $JWTLAB_DOCS_HTML (make test sets it) the first test builds the whole site: minutes
# on a busy machine, more than the suite's 120 s per test.
pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # slow: make unit leaves it out


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    built = os.environ.get("JWTLAB_DOCS_HTML")
    if built:
        return Path(built).resolve()
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(out)],
        check=True,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def browser():
    chromium_path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield chromium
        chromium.close()


def _pages_with_diagrams(site: Path) -> list[Path]:
    return sorted(
        page for page in site.rglob("*.html")
        if 'class="mermaid' in page.read_text(encoding="utf-8")
    )  # fmt: skip


def test_the_notebook_pages_with_diagrams_are_found(site):
    found = {str(page.relative_to(site)) for page in _pages_with_diagrams(site)}
    assert set(NOTEBOOK_PAGES_WITH_DIAGRAMS) <= found, (
        f"expected diagrams in {NOTEBOOK_PAGES_WITH_DIAGRAMS}; pages with diagrams: {found}"
    )


def test_every_diagram_is_drawn_as_svg_offline(site, browser):
    context = browser.new_context(offline=True)
    tried_network: list[str] = []

    def refuse_network(route):
        if not route.request.url.startswith("file://"):
            tried_network.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", refuse_network)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        for path in _pages_with_diagrams(site):
            name = str(path.relative_to(site))
            expected = len(re.findall(r'<pre[^>]*class="mermaid', path.read_text("utf-8")))
            page.goto(path.as_uri())
            # On a timeout the assertion below says what is missing.
            with contextlib.suppress(PlaywrightTimeoutError):
                page.wait_for_function(
                    "n => document.querySelectorAll('pre.mermaid svg').length >= n",
                    arg=expected,
                    timeout=60_000,
                )
            drawn = page.locator("pre.mermaid svg").count()
            broken = page.locator("pre.mermaid .error-icon").count()
            assert (drawn, broken) == (expected, 0), (
                f"{name}: {expected} diagrams, {drawn} drawn as SVG, {broken} with a syntax error"
            )
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"
    assert not tried_network, f"the pages reached for the network: {tried_network}"
