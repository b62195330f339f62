"""Every server setting has a description and is documented in the README's "Web app and API" section."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlens.api.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_described_and_documented() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Web app and API", 1)[1].split("\n## ", 1)[0]
    for name, f in Settings.model_fields.items():
        assert f.description, name
        assert f"`CXLENS_{name.upper()}`" in section, f"CXLENS_{name.upper()} is not in the README settings table"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLENS_FLUSH_MS", "7.5")
    monkeypatch.setenv("CXLENS_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("CXLENS_AUTH", "none")
    s = Settings()
    assert s.flush_ms == 7.5 and s.auth == "none"
    assert s.origins == ["https://a.example", "https://b.example"]
