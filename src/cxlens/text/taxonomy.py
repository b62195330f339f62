"""A user-editable theme taxonomy that classifies text multi-label.

A taxonomy is a list of themes; each theme matches a text by any of:

- ``keywords``: words or phrases, matched as whole words, case-insensitive; a trailing ``*`` matches any
  ending (``refund*`` matches "refunds", "refunded");
- ``patterns``: regular expressions (RE2 syntax, case-insensitive);
- ``examples``: example sentences; a text matches when its embedding's cosine similarity to one of them is at
  least ``similarity`` (needs the ``[text]`` extra; ignored with a note otherwise);

and is vetoed by ``exclude`` keywords. Matching runs column-wise in Arrow (one regex pass per theme).
File format (JSON or YAML)::

    name: support
    similarity: 0.55          # optional, for examples
    themes:
      - name: delivery
        keywords: [delivery, courier, "arrived late", parcel*]
        exclude: [on time]
      - name: billing
        patterns: ["charged? twice", "refund(ed|s)?"]
        examples: ["I was billed for something I never ordered"]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxlens.errors import CxlensInputError

__all__ = ["Taxonomy", "TaxonomyTheme", "load_taxonomy_file"]


def _keyword_regex(words: Sequence[str]) -> str | None:
    parts = []
    for w in words:
        w = w.strip()
        if not w:
            continue
        star = w.endswith("*")
        body = re.escape(w.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if star else ""))
    return r"\b(?:" + "|".join(parts) + r")\b" if parts else None


class TaxonomyTheme(BaseModel):
    """One theme of a taxonomy and its rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {e}") from None
        return v


class Taxonomy(BaseModel):
    """A named set of themes with rules; :meth:`classify` returns a multi-label membership matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("default", min_length=1)
    similarity: float = Field(0.55, gt=0, le=1)
    themes: list[TaxonomyTheme]

    @field_validator("themes")
    @classmethod
    def _unique(cls, v: list[TaxonomyTheme]) -> list[TaxonomyTheme]:
        if not v:
            raise ValueError("a taxonomy needs at least one theme")
        names = [t.name for t in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"theme names must be unique; repeated: {', '.join(dup)}")
        return v

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.themes]

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "taxonomy") -> Taxonomy:
        """Validate a mapping; errors name the theme and field that is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            msgs = []
            for err in e.errors():
                loc = ".".join(str(x) for x in err["loc"]) or "taxonomy"
                msgs.append(f"{loc}: {err['msg']}")
            raise CxlensInputError(f"{source}: " + "; ".join(msgs), file=source) from None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=False)

    def save(self, path: str | Path) -> Path:
        """Write the taxonomy as JSON (``.json``) or YAML (``.yaml``/``.yml``)."""
        p = Path(path)
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            p.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        else:
            p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return p

    def classify(self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None,
                 use_examples: bool | None = None) -> np.ndarray:
        """Boolean ``(n_texts, n_themes)`` matrix: does text i belong to theme j (multi-label)?

        ``use_examples=None`` uses example sentences when the embedding model is installed."""
        arr = pc.fill_null(pa.array(list(texts), pa.string()), "")
        out = np.zeros((len(arr), len(self.themes)), dtype=bool)
        ex_themes = [j for j, t in enumerate(self.themes) if t.examples]
        if use_examples is None:
            from cxlens.text.features import embeddings_available

            use_examples = bool(ex_themes) and embeddings_available()
            if ex_themes and not use_examples:
                import warnings

                warnings.warn("taxonomy example sentences are ignored: the embedding model is not installed "
                              "(pip install 'cxlens[text]'); keywords and patterns still apply", stacklevel=2)
        if use_examples and ex_themes:
            from cxlens.text.features import embed

            E = embeddings if embeddings is not None else embed(arr.to_pylist())
            for j in ex_themes:
                sims = E @ embed(self.themes[j].examples).T
                out[:, j] |= sims.max(axis=1) >= self.similarity
        for j, t in enumerate(self.themes):
            rx = [r for r in (_keyword_regex(t.keywords), *t.patterns) if r]
            for r in rx:
                out[:, j] |= _match(arr, r, t.name)
            ex = _keyword_regex(t.exclude)
            if ex:
                out[:, j] &= ~_match(arr, ex, t.name)
        return out

    def labels(self, texts: Sequence[str | None], **kw: Any) -> list[list[str]]:
        """Theme names per text (possibly empty lists)."""
        M = self.classify(texts, **kw)
        names = np.asarray(self.names, dtype=object)
        rows, cols = np.nonzero(M)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(M)))])
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                        pa.array(names[cols].tolist(), pa.string())).to_pylist()


def _match(arr: pa.Array, regex: str, theme: str) -> np.ndarray:
    try:
        hit = pc.match_substring_regex(arr, regex, ignore_case=True)
    except pa.ArrowInvalid as e:  # valid in Python but not in RE2 (e.g. look-arounds)
        raise CxlensInputError(f"theme {theme!r}: pattern {regex!r} is not supported ({e}); look-arounds and "
                               "back-references are not available", field="patterns") from None
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def load_taxonomy_file(path: str | Path) -> Taxonomy:
    """Read a taxonomy from JSON or YAML; errors name the file and the wrong field."""
    p = Path(path)
    if not p.exists():
        raise CxlensInputError(f"taxonomy file {p} does not exist", file=str(p))
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # json.JSONDecodeError or yaml.YAMLError: report, never a traceback
        raise CxlensInputError(f"{p}: cannot parse ({e})", file=str(p)) from None
    return Taxonomy.from_dict(data, source=str(p))
