"""The canonical JSONL post format: one post per line (documented in docs/jsonl-format.md).

``parse_jsonl_line`` turns one untrusted line into a ``CanonicalPost`` or raises ``ValueError``
whose message names the line and the field (``line 7: author.id: is required``), so an importer
can report the line and carry on. It never raises anything else, whatever the line holds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

Channel = Literal["x", "mastodon", "facebook", "instagram", "email", "webform", "chat", "generic"]
CHANNELS: tuple[str, ...] = get_args(Channel)
Direction = Literal["in", "out"]

MAX_TEXT_BYTES = 100_000
# A 100 kB text may grow ~6x when JSON escapes it (\u0001), so the line limit sits above that.
MAX_LINE_CHARS = 1_000_000
MAX_ID_CHARS = 255
MAX_NAME_CHARS = 255
MAX_SUBJECT_CHARS = 1_000
MAX_URL_CHARS = 2_048

_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Line separators that some readers (str.splitlines) treat as line breaks; escaped on output.
_SPLITLINES_ONLY = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def _sound_text(value: str) -> str:
    # PostgreSQL cannot store NUL, and a lone surrogate cannot be encoded as UTF-8 at all.
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains invalid Unicode (a lone surrogate)") from None
    return value


def _id_from_number(value: Any) -> Any:
    # Exports often write numeric ids (tweet ids) as JSON numbers; bool is an int but not an id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    # Exporters write "" for a missing optional value; treat it as absent.
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


ExternalId = Annotated[
    str,
    BeforeValidator(_strip),
    BeforeValidator(_id_from_number),
    Field(max_length=MAX_ID_CHARS),
    AfterValidator(_not_blank),
    AfterValidator(_sound_text),
]
ShortText = Annotated[
    str,
    BeforeValidator(_strip),
    Field(max_length=MAX_NAME_CHARS),
    AfterValidator(_sound_text),
]


class Author(BaseModel):
    """Who wrote the post; for ``direction: out`` the brand account itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ExternalId
    handle: Annotated[ShortText | None, BeforeValidator(_blank_to_none)] = None
    name: Annotated[ShortText | None, BeforeValidator(_blank_to_none)] = None
    followers: Annotated[StrictInt, Field(ge=0, le=10**11)] | None = None
    verified: StrictBool = False


class CanonicalPost(BaseModel):
    """One line of the canonical JSONL format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    account: ShortText
    external_id: ExternalId
    direction: Direction
    author: Author
    text: str
    created_at: datetime
    in_reply_to: ExternalId | None = None
    private: StrictBool = False
    lang: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    subject: Annotated[
        Annotated[str, Field(max_length=MAX_SUBJECT_CHARS)] | None,
        BeforeValidator(_blank_to_none),
    ] = None
    url: Annotated[str | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("account", mode="after")
    @classmethod
    def _account_handle(cls, value: str) -> str:
        # "@AcmeCare" and "AcmeCare" name the same account; store it without the "@".
        value = value.removeprefix("@").strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("text", mode="after")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        _sound_text(value)
        if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
            raise ValueError(f"is longer than {MAX_TEXT_BYTES} bytes (UTF-8)")
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 string such as 2026-11-20T10:00:00Z")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is not an ISO 8601 timestamp: {value[:40]!r}") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("has no time zone; add 'Z' or an offset such as +05:30")
        return parsed.astimezone(UTC)

    @field_validator("lang", mode="after")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 35 or not _LANG_RE.match(value)):
            raise ValueError("must be a BCP 47 language tag such as 'da' or 'hi-Latn'")
        return value

    @field_validator("subject", mode="after")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        return None if value is None else _sound_text(value)

    @field_validator("url", mode="after")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if len(value) > MAX_URL_CHARS:
            raise ValueError(f"is longer than {MAX_URL_CHARS} characters")
        if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
            raise ValueError("must be an http(s) URL without spaces")
        return _sound_text(value)

    @model_validator(mode="after")
    def _not_its_own_parent(self) -> CanonicalPost:
        if self.in_reply_to is not None and self.in_reply_to == self.external_id:
            raise ValueError("in_reply_to: a post cannot reply to itself")
        return self


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a field of the canonical format"
    else:
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    # Whole-post checks carry no location; their message already starts with the field.
    return f"{field}: {message}" if field else message


def parse_jsonl_line(line: str, line_no: int) -> CanonicalPost:
    """Parse one line of canonical JSONL; ``ValueError`` names the line and every bad field."""
    where = f"line {line_no}"
    if not isinstance(line, str):
        raise ValueError(f"{where}: expected text, got {type(line).__name__}")
    if len(line) > MAX_LINE_CHARS:
        raise ValueError(f"{where}: line is longer than {MAX_LINE_CHARS} characters")
    stripped = line.removeprefix("\ufeff").strip()
    if not stripped:
        raise ValueError(f"{where}: blank line")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal with more digits than Python allows
        raise ValueError(f"{where}: not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    try:
        return CanonicalPost.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ValueError(f"{where}: {problems}") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON is nested too deeply") from None


def format_jsonl_line(post: CanonicalPost) -> str:
    """One canonical line (no trailing newline), keys in documented order, UTF-8 kept readable."""
    data = post.model_dump(mode="json")
    data["created_at"] = post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if post.created_at.microsecond:
        data["created_at"] = post.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _SPLITLINES_ONLY.items():
        line = line.replace(char, escaped)
    return line
