"""Moving a public conversation to a private channel (S10, S21), and saving the contact
details the customer then sends us."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import Agent, Conversation, Customer, Message
from caredesk.replies import repository as repo
from caredesk.replies.canned import do_insert_canned, starter_canned
from caredesk.replies.service import do_send_reply

PRIVATE_VIAS = ("dm", "email", "phone")
# Starter response used for each step; a workspace may rename or reword them.
PUBLIC_KEY = "move_to_dm"
ASK_KEY = {"dm": "ask_contact_details", "email": "ask_contact_details", "phone": "callback_request"}
_FALLBACK_PUBLIC = "We'd like to help with this privately. We've sent you a direct message."
_FALLBACK_ASK = {
    "dm": "Please reply with your full name and the email address or phone number on your account.",
    "email": "Please reply with the email address on your account so we can write to you.",
    "phone": "Please reply with a phone number we can call you on and a time that suits you.",
}


@dataclass(frozen=True)
class MovedToPrivate:
    public_message: Message | None
    private_message: Message
    warnings: list[str] = field(default_factory=list)


def _text_for(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    key: str,
    fallback: str,
) -> tuple[str, list[str]]:
    canned = starter_canned(session, conversation.workspace_id, key)
    if canned is None:
        return fallback, [f"no canned response for {key!r}; used a built-in English text"]
    inserted = do_insert_canned(session, clock, conversation, agent, canned)
    return inserted.text, inserted.warnings


def do_move_to_private(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    *,
    via: str = "dm",
    client_key: str | None = None,
) -> MovedToPrivate:
    """Post a short public reply in the customer's language and open the private channel in the
    same conversation, asking for contact details (or a call-back number)."""
    if via not in PRIVATE_VIAS:
        raise ValidationFailed(f"via must be one of {', '.join(PRIVATE_VIAS)}")
    if conversation.status == "closed":
        raise Conflict("conversation is closed; reopen it before replying")
    warnings: list[str] = []
    public: Message | None = None
    if not conversation.is_private:
        text, w = _text_for(session, clock, conversation, agent, PUBLIC_KEY, _FALLBACK_PUBLIC)
        warnings += w
        public = do_send_reply(
            session, clock, conversation, agent, text,
            client_key=f"{client_key}:public" if client_key else None,
        )  # fmt: skip
    text, w = _text_for(session, clock, conversation, agent, ASK_KEY[via], _FALLBACK_ASK[via])
    warnings += w
    private = do_send_reply(
        session, clock, conversation, agent, text, private=True,
        client_key=f"{client_key}:private" if client_key else None,
    )  # fmt: skip
    previous = conversation.status
    conversation.status = "gathering_info"
    conversation.updated_at = clock.now()
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.MOVED_TO_PRIVATE,
        actor_kind="agent",
        actor_agent_id=agent.id,
        payload={
            "via": via,
            "public_message_id": public.id if public else None,
            "private_message_id": private.id,
            "previous_status": previous,
        },
    )
    return MovedToPrivate(public, private, warnings)


# --------------------------------------------------------------------------- contact details

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@([A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![\w-])"
)
# Digits in any script, with the separators people type between groups.
_PHONE_RE = re.compile(r"(?<![\w#])(\+|00)?\(?\d[\d\s().\-]{5,22}\d(?![\w])")
_PHONE_WORDS = (
    "phone", "mobile", "cell", "call", "tel", "number", "whatsapp", "nummer", "telefon", "tlf",
    "mobil", "ring", "फ़ोन", "फोन", "नंबर", "मोबाइल", "فون", "نمبر", "موبائل", "ఫోన్", "నంబర్",
    "మొబైల్",
)  # fmt: skip
_NOT_PHONE_WORDS = (
    "order", "ordre", "invoice", "faktura", "ref", "tracking", "account no", "ऑर्डर", "آرڈر",
    "ఆర్డర్", "pin", "otp", "code",
)  # fmt: skip
MAX_SCAN_CHARS = 20_000
_DATE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")


@dataclass(frozen=True)
class ContactDetails:
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones)

    def to_dict(self) -> dict[str, Any]:
        return {"emails": list(self.emails), "phones": list(self.phones)}


def _ascii_digits(text: str) -> str:
    out = []
    for ch in text:
        if ch.isdigit() and not ch.isascii():
            d = unicodedata.digit(ch, None)
            out.append(str(d) if d is not None else ch)
        else:
            out.append(ch)
    return "".join(out)


def extract_contact_details(text: Any) -> ContactDetails:
    """E-mail addresses and phone numbers in a customer's message. Never raises.

    A run of 8-15 digits counts as a phone number when it starts with + or 00, when a phone
    word is just before it, or when it has a common national length (8 Danish, 10 Indian);
    digits right after an order/invoice/code word are left alone.
    """
    if not isinstance(text, str) or not text:
        return ContactDetails()
    text = _ascii_digits(text[:MAX_SCAN_CHARS])
    emails: list[str] = []
    for m in _EMAIL_RE.finditer(text):
        email = f"{m.group(1)}@{m.group(2).lower()}"
        if email not in emails:
            emails.append(email)
    phones: list[str] = []
    lowered = text.lower()
    for m in _PHONE_RE.finditer(text):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not 8 <= len(digits) <= 15:
            continue
        if _DATE_RE.fullmatch(raw.strip()):
            continue
        before = lowered[max(0, m.start() - 25) : m.start()]
        if any(w in before for w in _NOT_PHONE_WORDS):
            continue
        international = raw.startswith(("+", "00"))
        near_word = any(w in before for w in _PHONE_WORDS)
        if not (international or near_word or len(digits) in (8, 10)):
            continue
        number = digits
        if international:
            number = "+" + (digits[2:] if raw.startswith("00") else digits)
        if number not in phones:
            phones.append(number)
    return ContactDetails(tuple(emails[:5]), tuple(phones[:5]))


def do_save_contact_details(
    session: Session,
    clock: Clock,
    customer: Customer,
    details: ContactDetails,
    *,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> ContactDetails:
    """Store new details on the customer; returns only what was new. The first email/phone go
    to the customer's main fields when empty, the rest into ``contact_details``."""
    if not details:
        return ContactDetails()
    extra = dict(customer.contact_details or {})
    known_emails = [e for e in [customer.email, *extra.get("emails", [])] if e]
    known_phones = [p for p in [customer.phone, *extra.get("phones", [])] if p]
    new_emails = [e for e in details.emails if e.lower() not in {k.lower() for k in known_emails}]
    new_phones = [p for p in details.phones if p not in known_phones]
    if not new_emails and not new_phones:
        return ContactDetails()
    for email in new_emails:
        if not customer.email:
            customer.email = email
        else:
            extra["emails"] = [*extra.get("emails", []), email][-10:]
    for phone in new_phones:
        if not customer.phone:
            customer.phone = phone
        else:
            extra["phones"] = [*extra.get("phones", []), phone][-10:]
    customer.contact_details = extra
    customer.updated_at = clock.now()
    saved = ContactDetails(tuple(new_emails), tuple(new_phones))
    record(
        session,
        clock,
        workspace_id=customer.workspace_id,
        conversation_id=conversation_id,
        name=E.CONTACT_DETAILS_SAVED,
        payload={"customer_id": customer.id, "message_id": message_id, **saved.to_dict()},
    )
    return saved


def do_capture_contact_details(session: Session, clock: Clock, message: Message) -> ContactDetails:
    """For the pipeline: after an inbound message is recorded, save any email/phone it carries
    to the customer — only for private messages or conversations we asked for details in, so
    a public post quoting someone else's address is not taken as the customer's."""
    if message.direction != "in":
        return ContactDetails()
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is None:
        return ContactDetails()
    asked = conversation.status == "gathering_info" or repo.asked_for_contact_details(
        session, conversation.id
    )
    if not (message.is_private or asked):
        return ContactDetails()
    details = extract_contact_details(message.text)
    if not details:
        return ContactDetails()
    customer = session.get(Customer, conversation.customer_id)
    if customer is None:
        return ContactDetails()
    return do_save_contact_details(
        session, clock, customer, details, conversation_id=conversation.id, message_id=message.id
    )
