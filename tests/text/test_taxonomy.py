"""Taxonomy rules: whole-word keywords, wildcards, patterns, exclusions; JSON/YAML files; errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cxlens.errors import CxlensInputError
from cxlens.text.taxonomy import Taxonomy, load_taxonomy_file

TAX = {"name": "support", "themes": [
    {"name": "delivery", "keywords": ["delivery", "courier", "arrived late", "parcel*"], "exclude": ["on time"]},
    {"name": "billing", "patterns": ["charged? twice", r"refund(ed|s)?\b"]},
    {"name": "staff", "keywords": ["staff", "nurse"]},
]}
TEXTS = ["The courier lost my parcels", "Delivery was on time", "I was charged twice and refunded",
         "The staff and the courier were great", "deliveryman rang", None, "It ARRIVED   LATE"]


def test_multilabel_rules() -> None:
    tax = Taxonomy.from_dict(TAX)
    M = tax.classify(TEXTS, use_examples=False)
    expected = np.array([
        [1, 0, 0],  # courier, parcel* wildcard
        [0, 0, 0],  # delivery but excluded by "on time"
        [0, 1, 0],  # pattern
        [1, 0, 1],  # multi-label
        [0, 0, 0],  # whole words only: "deliveryman" is not "delivery"
        [0, 0, 0],  # None
        [1, 0, 0],  # phrase, case and spacing insensitive
    ], dtype=bool)
    np.testing.assert_array_equal(M, expected)
    assert tax.labels(TEXTS, use_examples=False)[3] == ["delivery", "staff"]


def test_row_order_does_not_matter() -> None:
    tax = Taxonomy.from_dict(TAX)
    perm = [6, 2, 0, 5, 1, 4, 3]
    np.testing.assert_array_equal(tax.classify([TEXTS[i] for i in perm], use_examples=False),
                                  tax.classify(TEXTS, use_examples=False)[perm])


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_file_roundtrip(tmp_path, suffix) -> None:
    tax = Taxonomy.from_dict(TAX)
    p = tax.save(tmp_path / f"t{suffix}")
    assert load_taxonomy_file(p) == tax


def test_errors_name_the_field(tmp_path) -> None:
    bad = {"name": "x", "themes": [{"name": "a", "patterns": ["("]}]}
    with pytest.raises(CxlensInputError, match=r"themes\.0\.patterns"):
        Taxonomy.from_dict(bad)
    with pytest.raises(CxlensInputError, match="unique"):
        Taxonomy.from_dict({"themes": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(CxlensInputError, match="keywordz"):
        Taxonomy.from_dict({"themes": [{"name": "a", "keywordz": ["x"]}]})
    p = tmp_path / "broken.json"
    p.write_text("{not json")
    with pytest.raises(CxlensInputError, match=r"broken\.json: cannot parse"):
        load_taxonomy_file(p)
    with pytest.raises(CxlensInputError, match="does not exist"):
        load_taxonomy_file(tmp_path / "missing.yaml")
    look = Taxonomy.from_dict({"themes": [{"name": "a", "patterns": ["foo(?=bar)"]}]})
    with pytest.raises(CxlensInputError, match="look-arounds"):
        look.classify(["foobar"])


def test_example_sentences_with_embeddings() -> None:
    pytest.importorskip("sentence_transformers")
    tax = Taxonomy.from_dict({"similarity": 0.5, "themes": [
        {"name": "billing", "examples": ["I was billed twice for the same order"]}]})
    M = tax.classify(["they charged my card two times for one purchase", "the nurse was kind"])
    assert M[:, 0].tolist() == [True, False]
    assert json.loads(json.dumps(tax.to_dict()))["themes"][0]["examples"]
