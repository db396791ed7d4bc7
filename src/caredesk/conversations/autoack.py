"""Auto-acknowledgment (S6): what to say when nobody has answered within the policy's N minutes.

The SLA sweep records ``conversation.auto_ack_requested`` and enqueues ``replies.auto_ack``; the
job handler (tasks.py) sends the text below through the replies outbox as an ``auto_ack`` reply,
which sets ``acknowledged_at`` but never ``first_response_at``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.conversations.sla_scope import replies_expected
from caredesk.kit.clock import Clock
from caredesk.models import Agent, Conversation, Team, Workspace

DEFAULT_TEXTS = {
    "en": "Thanks for reaching out! We have your message and a member of our team will get "
    "back to you shortly.",
    "da": "Tak for din henvendelse! Vi har modtaget din besked, og en fra vores team vender "
    "snart tilbage.",
    "hi": "संपर्क करने के लिए धन्यवाद! हमें आपका संदेश मिल गया है, हमारी टीम जल्द ही आपसे संपर्क करेगी।",
    "ur": "رابطہ کرنے کا شکریہ! ہمیں آپ کا پیغام مل گیا ہے، ہماری ٹیم جلد آپ سے رابطہ کرے گی۔",
    "te": "సంప్రదించినందుకు ధన్యవాదాలు! మీ సందేశం మాకు అందింది, మా బృందం త్వరలో మిమ్మల్ని సంప్రదిస్తుంది.",
}
SYSTEM_EMAIL = "auto-ack+{workspace_id}@system.caredesk.invalid"


def _pick(texts: object, keys: tuple[str, ...], language: str | None) -> str | None:
    """The first key present; a value is a text or {language: text}."""
    if not isinstance(texts, dict):
        return None
    for key in keys:
        value = texts.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, dict):
            for lang in (language, "en"):
                text = value.get(lang) if lang else None
                if isinstance(text, str) and text.strip():
                    return text.strip()
    return None


def auto_ack_text(
    workspace: Workspace, team: Team | None, channel: str, language: str | None
) -> str:
    """Workspace setting ``auto_ack_texts``, most specific key first: ``team:<id>:<channel>``,
    ``team:<id>``, ``<channel>``, ``default``; else the built-in text in the customer's
    language."""
    keys: tuple[str, ...] = (channel, "default")
    if team is not None:
        keys = (f"team:{team.id}:{channel}", f"team:{team.id}", *keys)
    chosen = _pick((workspace.settings or {}).get("auto_ack_texts"), keys, language)
    return chosen or DEFAULT_TEXTS.get(language or "en", DEFAULT_TEXTS["en"])


def needs_auto_ack(conversation: Conversation) -> bool:
    """Still nobody answered (the job may run late or twice), and someone is expected to:
    a job queued before an agent marked the post as noise sends nothing."""
    return (
        replies_expected(conversation)
        and conversation.acknowledged_at is None
        and conversation.first_response_at is None
        and conversation.status not in ("solved", "closed", "pending", "snoozed")
    )


def system_agent(session: Session, clock: Clock, workspace_id: int) -> Agent:
    """The per-workspace author of automatic replies: inactive, so it can never sign in, be
    mentioned or be assigned."""
    email = SYSTEM_EMAIL.format(workspace_id=workspace_id)
    agent = session.execute(select(Agent).where(Agent.email == email)).scalar_one_or_none()
    if agent is not None:
        return agent
    agent = Agent(
        email=email,
        name="Automatic reply",
        password_hash="!",  # noqa: S106 - not a hash: no password can match it
        role="agent",
        languages=[],
        channels=[],
        timezone="UTC",
        ui_language="en",
        capacity=0,
        presence="offline",
        is_active=False,
        created_at=clock.now(),
    )
    session.add(agent)
    session.flush()
    return agent
