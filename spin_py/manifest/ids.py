"""Identifier rules of Spin manifests, with Spin's own wording for violations.

An ID is one or more words joined by a delimiter: `-` for component IDs and AI model names
(kebab case), `_` for variable names (snake case). A word is ASCII letters and digits, starts with
a letter (later words may also start with a digit), and is all lowercase or all UPPERCASE; snake
case variable names must be lowercase.
"""

from __future__ import annotations


def kebab_error(text: str) -> str | None:
    """Why `text` is not a kebab-case ID (component IDs, AI models), or None if it is."""
    return _id_error(text, "-", lower=False)


def snake_error(text: str) -> str | None:
    """Why `text` is not a snake-case ID, or None if it is."""
    return _id_error(text, "_", lower=False)


def lower_snake_error(text: str) -> str | None:
    """Why `text` is not a lower snake-case ID (variable names), or None if it is."""
    return _id_error(text, "_", lower=True)


def _id_error(text: str, delim: str, *, lower: bool) -> str | None:
    if not text:
        return "empty"
    wrong = "_" if delim == "-" else "-"
    if wrong in text:
        return f"words must be separated with {delim!r}, not {wrong!r}"
    for index, word in enumerate(text.split(delim)):
        problem = _word_error(word, index, delim)
        if problem:
            return problem
        if lower and word[0].isupper():
            return f'Lower-case identifiers must be all lowercase; got "{text}"'
    return None


def _word_error(word: str, index: int, delim: str) -> str | None:
    if not word:
        return f"{delim!r}-separated words must not be empty"
    first = word[0]
    if not _is_ascii_letter(first) and not (index > 0 and first.isdigit() and first.isascii()):
        allowed = "an ASCII letter" if index == 0 else "an ASCII letter or digit"
        return f"{delim!r}-separated words must start with {allowed}; got {first!r}"
    upper = first.isupper()
    for ch in word[1:]:
        if ch.isascii() and ch.isdigit():
            continue
        if not _is_ascii_letter(ch):
            return f"{delim!r}-separated words may only contain alphanumeric ASCII; got {ch!r}"
        if ch.isupper() != upper:
            return f'{delim!r}-separated words must be all lowercase or all UPPERCASE; got "{word}"'
    return None


def _is_ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()
