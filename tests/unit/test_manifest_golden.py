"""Golden errors: every `invalid/<case>.toml` fails to load with exactly `<case>.err`.

Each case is loaded by its relative path from inside `tests/data/manifests/invalid`, so the file
named in the message is `<case>.toml`, independent of where the checkout lives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ManifestError
from spin_py.manifest import load

INVALID_DIR = Path(__file__).parents[1] / "data" / "manifests" / "invalid"
CASES = sorted(p.stem for p in INVALID_DIR.glob("*.toml"))


def test_there_are_enough_cases_and_each_has_its_error_file() -> None:
    assert len(CASES) >= 25
    assert sorted(p.stem for p in INVALID_DIR.glob("*.err")) == CASES


@pytest.mark.parametrize("case", CASES)
def test_invalid_manifest_gives_golden_error(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID_DIR)
    expected = (INVALID_DIR / f"{case}.err").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(ManifestError) as caught:
        load(Path(f"{case}.toml"))
    assert str(caught.value) == expected
