"""Every figure's caption is valid reStructuredText: `snakemake --report` renders it without an
error block."""

from __future__ import annotations

import io

import docutils.core
import pytest

from tests.helpers import REPO

CAPTIONS = sorted((REPO / "workflow" / "report").glob("*.rst"))


@pytest.mark.parametrize("caption", CAPTIONS, ids=[c.stem for c in CAPTIONS])
def test_the_caption_renders_without_warnings(caption):
    messages = io.StringIO()
    docutils.core.publish_doctree(caption.read_text(), source_path=str(caption),
                                  settings_overrides={"warning_stream": messages, "report_level": 1,
                                                      "halt_level": 5})
    assert messages.getvalue() == "", messages.getvalue()
