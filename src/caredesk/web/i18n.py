"""The desk's own words in the agent's language: gettext catalogues read from .po at start-up.

The .po files are the source (no compile step, so a clean clone works as is); Babel parses them
once per process. A missing translation falls back to the English msgid.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "caredesk"

# code -> (name in its own script, writing direction)
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "ltr"),
    "da": ("Dansk", "ltr"),
    "hi": ("हिन्दी", "ltr"),
    "ur": ("اردو", "rtl"),
    "te": ("తెలుగు", "ltr"),
}
DEFAULT = "en"

Gettext = Callable[..., str]


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> msgstr for one language (untranslated and fuzzy entries left out)."""
    path = po_path(lang)
    if lang == DEFAULT or not path.exists():
        return {}
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    out: dict[str, str] = {}
    for message in cat:
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
            out[message.id] = str(message.string)
    return out


def pick(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def direction(lang: str | None) -> str:
    return LANGUAGES[pick(lang)][1]


def translator(lang: str | None) -> Gettext:
    """``_("Inbox")`` or ``_("{n} min", n=5)``: translated, then filled in with str.format."""
    table = catalogue(pick(lang))

    def gettext(message: str, **values: object) -> str:
        text = table.get(message, message)
        if values:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                return message.format(**values)
        return text

    return gettext
