"""Open a `snakemake --report` page in a real headless Chromium, as a researcher would, and read what
it shows.

The report is Snakemake's single-page app: the "Results" menu lists every file marked `report(...)`, each
row with an eye button (shows the image in the main panel) and an information button (shows its caption
under DESCRIPTION). `read_report` clicks both for every figure and returns what the browser rendered; the
test (tests/test_pipeline.py) asserts on it, and the README's screenshot is taken by the same code:

    python -m tests.report_browser results/report.html docs/report.png [--study glorot2010 --figure NAME]

Driven by Playwright for Python against the system's Chromium (Debian's `chromium`, installed by .ci/run);
FANIN_CHROMIUM names another binary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWPORT = {"width": 1400, "height": 900}


def find_chromium() -> str | None:
    """The Chromium binary to drive: $FANIN_CHROMIUM (None if no such file), else the first of CHROMIUM_NAMES
    on PATH."""
    if named := os.environ.get("FANIN_CHROMIUM"):
        return named if Path(named).is_file() else None
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


@dataclass
class Figure:
    """One figure as the report page showed it."""

    name: str
    width: int  # the decoded image's natural size in pixels (0: it did not decode)
    height: int
    caption: str  # the text the page shows under "Description" for that file
    # the same as HTML (docutils marks a reStructuredText error with class "system-message")
    caption_html: str


@dataclass
class ReportView:
    figures: dict[str, Figure] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions, in order


@contextlib.contextmanager
def report_page(report: Path) -> Iterator[tuple[object, list[str]]]:
    """A headless Chromium page with `report` loaded; yields (page, errors)."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium found (tried $FANIN_CHROMIUM and {', '.join(CHROMIUM_NAMES)})")
    errors: list[str] = []
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console",
                    lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(Path(report).resolve().as_uri())
            yield page, errors
        finally:
            browser.close()


def open_category(page, category: str) -> None:
    """Open the list of a report category (fanin's: one per study). The menu lists the categories by name;
    where there is only one, it shows "Results" instead, which opens that one's list."""
    link = page.get_by_text(category, exact=True)
    (link.first if link.count() else page.get_by_text("Results", exact=True)).click()
    page.locator("a[iconname=eye]").first.wait_for()


def _row(page, name: str):
    return page.locator("tr", has_text=f"/{name}.png")


def show_figure(page, name: str) -> tuple[int, int]:
    """Click the figure's eye button; the natural size of the image the main panel then shows."""
    _row(page, name).locator("a[iconname=eye]").click()
    image = page.locator(f'img[src*="filename={name}.png"]')
    image.wait_for()
    return tuple(image.evaluate("e => e.decode().then(() => [e.naturalWidth, e.naturalHeight])"))


def show_caption(page, name: str) -> tuple[str, str]:
    """Click the figure's information button; the text and the HTML of its caption (under "Description")."""
    _row(page, name).locator("a[iconname=information-circle]").click()
    caption = page.locator('li:text-is("Description") + li')
    caption.wait_for()
    return caption.inner_text().strip(), caption.inner_html()


def back_to_results(page) -> None:
    """From a file's page to the list it was opened from: the breadcrumb's link before the file's own."""
    page.locator("nav ol li a").nth(-2).click()
    page.locator("a[iconname=eye]").first.wait_for()


def read_report(report: Path, category: str, figures: list[str]) -> ReportView:
    """Show every figure of `category` and its caption in the browser; what it rendered and every error it
    logged."""
    view = ReportView()
    with report_page(report) as (page, errors):
        open_category(page, category)
        for name in figures:
            width, height = show_figure(page, name)
            text, html = show_caption(page, name)
            view.figures[name] = Figure(name, width, height, text, html)
            back_to_results(page)
        view.errors = list(errors)
    return view


def screenshot(report: Path, category: str, figure: str, out: Path) -> None:
    """The page as it looks with `figure` of `category` shown, as a PNG at `out` in 256 colours (a third of
    the size, small enough to commit; written to a temporary file, then renamed)."""
    from PIL import Image

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.png")
    with report_page(report) as (page, _):
        open_category(page, category)
        show_figure(page, figure)
        page.screenshot(path=str(partial))
    with Image.open(partial) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(partial,
                                                                                          optimize=True)
    partial.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot a Snakemake report in headless Chromium.")
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--study", default="glorot2010", help="the report category: a study's name")
    parser.add_argument("--figure", default="glorot2010_fig11_test_error")
    args = parser.parse_args()
    if not args.report.is_file():
        parser.error(f"no report at {args.report}; build it with `snakemake --report {args.report}`")
    screenshot(args.report, args.study, args.figure, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
