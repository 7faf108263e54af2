"""Refusing look-alike e-mail addresses: a local part or a domain label that mixes scripts.

`katе@example.com` with a Cyrillic `е` is another address than `kate@example.com` and looks the
same on every screen: an attacker registers it to pass as kate (issue 23). Unicode's answer is
UTS #39 (mixed-script detection and confusables); no maintained implementation is in the lock,
so this is the part of it that catches the attack: every letter of one part (the local part, each
domain label) must come from one script, where Han, Hiragana and Katakana count as one (Japanese
mixes them) and digits, marks and punctuation belong to any script. A letter's script is read
from its Unicode name (unicodedata): "CYRILLIC SMALL LETTER IE" is Cyrillic.

Not caught: a whole part in another script that happens to look Latin (all-Cyrillic `асе`);
UTS #39's whole-script confusables need its data tables. Such an address is at least consistent,
the way IDN registries' own single-script rules leave it.
"""

from __future__ import annotations

import unicodedata

# Scripts that a single word legitimately mixes.
_SAME_WORD = {"HIRAGANA": "JAPANESE", "KATAKANA": "JAPANESE", "CJK": "JAPANESE"}


def script_of(letter: str) -> str:
    name = unicodedata.name(letter, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _SAME_WORD.get(first, first)


def scripts_in(part: str) -> list[str]:
    """The scripts of the letters in `part`, in order of appearance; ASCII letters are Latin."""
    seen: list[str] = []
    for character in part:
        if character.isascii():
            script = "LATIN" if character.isalpha() else ""
        elif unicodedata.category(character).startswith("L"):
            script = script_of(character)
        else:
            script = ""  # digits, marks, punctuation: any script
        if script and script not in seen:
            seen.append(script)
    return seen


def mixed_script_problem(address: str) -> str | None:
    """Why `address` looks like another one, or None when each part keeps to one script."""
    local, _, domain = address.rpartition("@")
    for what, part in [("the part before @", local)] + [
        ("the domain", label) for label in domain.split(".")
    ]:
        scripts = scripts_in(part)
        if len(scripts) > 1:
            names = " and ".join(s.title() for s in scripts)
            return (
                f"mixes {names} letters in {what} ({part!r}), so it can pass for another "
                "address; type it in one script"
            )
    return None
