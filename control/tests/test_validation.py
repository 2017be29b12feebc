from __future__ import annotations

import pytest

from plaza_control import validation
from plaza_control.errors import InvalidInput


@pytest.mark.parametrize(
    "name",
    ["Ann", "Zoë", "李小龍", "Ana-María O'Neil", "player_1", "Jo.Jo", "مرحبا", "e\u0301clair"],
)
def test_valid_display_names(name: str) -> None:
    assert validation.display_name(name)


def test_display_name_is_nfc() -> None:
    assert validation.display_name("e\u0301clair") == "\u00e9clair"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a",
        "x" * 33,
        " Ann",
        "Ann ",
        "A  nn",
        "Ann\n",
        "Ann\x00",
        "Ann\u202e",  # bidi override
        "A\u200bnn",  # zero-width space
        "Ann\ue000",  # private use
        "Ann<script>",
        "a\u0301\u0302\u0303\u0304",  # stacked marks
        "\u0301abc",
        "Ann😀",
    ],
)
def test_invalid_display_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        validation.display_name(name)
