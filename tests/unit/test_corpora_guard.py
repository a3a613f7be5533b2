"""The corpora guard: a missing or shrunken corpus fails loudly instead of shrinking the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import corpora


def test_every_corpus_is_in_the_repository_with_its_files() -> None:
    files = corpora.require_corpora()
    assert len(files) >= sum(corpora.EXPECTED_FILES.values())


def test_a_missing_corpus_folder_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(corpora, "CORPORA", tmp_path / "nowhere")
    with pytest.raises(corpora.CorporaMissing, match="test corpora missing"):
        corpora.require_corpora()


def test_a_corpus_that_lost_files_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "corpora"
    shutil.copytree(corpora.CORPORA, copy)
    next((copy / "utf8tests").rglob("*.txt")).unlink()
    monkeypatch.setattr(corpora, "CORPORA", copy)
    with pytest.raises(corpora.CorporaMissing, match="utf8tests"):
        corpora.require_corpora()
