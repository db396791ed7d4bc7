"""Customer satisfaction (MISSION S25): one question, 1-5 plus a comment, in the customer's
language. The survey row is created on close; sending the link (DM, email or reply) belongs to
the replies stage, which picks up the ``replies.send_csat`` job we enqueue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.kit.ids import new_token
from caredesk.kit.jobs import enqueue_after_commit
from caredesk.models import Conversation, CsatResponse, Customer, Workspace

CSAT_SEND_JOB = "replies.send_csat"
VALID_FOR = timedelta(days=30)
MAX_COMMENT_CHARS = 2000
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class CsatText:
    question: str
    comment_label: str
    low: str
    high: str
    thanks: str
    # The page's own words, so nothing on it is English for a non-English customer.
    send: str = "Send"
    pick_score: str = "Please choose a number from 1 to 5."
    too_long: str = "Your comment is too long; please shorten it."
    expired: str = "This survey has expired."


TEXTS: dict[str, CsatText] = {
    "en": CsatText(
        "How satisfied are you with how we handled your request?",
        "Anything you would like to add?",
        "Very dissatisfied",
        "Very satisfied",
        "Thank you for your feedback!",
    ),
    "da": CsatText(
        "Hvor tilfreds er du med den måde, vi håndterede din henvendelse på?",
        "Er der noget, du vil tilføje?",
        "Meget utilfreds",
        "Meget tilfreds",
        "Tak for din feedback!",
        "Send",
        "Vælg et tal fra 1 til 5.",
        "Din kommentar er for lang; gør den venligst kortere.",
        "Denne undersøgelse er udløbet.",
    ),
    "hi": CsatText(
        "हमने आपके अनुरोध को जिस तरह संभाला, उससे आप कितने संतुष्ट हैं?",
        "क्या आप कुछ और कहना चाहेंगे?",
        "बहुत असंतुष्ट",
        "बहुत संतुष्ट",
        "आपकी प्रतिक्रिया के लिए धन्यवाद!",
        "भेजें",
        "कृपया 1 से 5 तक कोई एक संख्या चुनें।",
        "आपकी टिप्पणी बहुत लंबी है; कृपया इसे छोटा करें।",
        "इस सर्वे की अवधि समाप्त हो गई है।",
    ),
    "ur": CsatText(
        "ہم نے آپ کی درخواست کو جس طرح نمٹایا، آپ اس سے کتنے مطمئن ہیں؟",
        "کیا آپ کچھ اور کہنا چاہیں گے؟",
        "بہت غیر مطمئن",
        "بہت مطمئن",
        "آپ کی رائے کا شکریہ!",
        "بھیجیں",
        "براہِ کرم 1 سے 5 تک کوئی ایک نمبر چنیں۔",
        "آپ کا تبصرہ بہت لمبا ہے؛ براہِ کرم اسے مختصر کریں۔",
        "اس سروے کی مدت ختم ہو چکی ہے۔",
    ),
    "te": CsatText(
        "మేము మీ అభ్యర్థనను నిర్వహించిన విధానంతో మీరు ఎంత సంతృప్తిగా ఉన్నారు?",
        "మీరు ఇంకా ఏమైనా చెప్పాలనుకుంటున్నారా?",
        "అస్సలు సంతృప్తి లేదు",
        "చాలా సంతృప్తి",
        "మీ అభిప్రాయానికి ధన్యవాదాలు!",
        "పంపండి",
        "దయచేసి 1 నుండి 5 వరకు ఒక సంఖ్యను ఎంచుకోండి.",
        "మీ వ్యాఖ్య చాలా పొడవుగా ఉంది; దయచేసి దాన్ని తగ్గించండి.",
        "ఈ సర్వే గడువు ముగిసింది.",
    ),
}


INVITATIONS = {
    "en": "How did we do? One question, one click: {url}",
    "da": "Hvordan klarede vi det? Ét spørgsmål, ét klik: {url}",
    "hi": "हमने कैसा किया? एक सवाल, एक क्लिक: {url}",
    "ur": "ہم نے کیسا کیا؟ ایک سوال، ایک کلک: {url}",
    "te": "మేము ఎలా చేశాము? ఒక ప్రశ్న, ఒక క్లిక్: {url}",
}
# How the link reaches the customer per channel (workspace setting ``csat_delivery`` overrides):
# a private message on public social networks, a reply where the thread is already private.
DEFAULT_DELIVERY = {"x": "dm", "mastodon": "dm", "facebook": "dm", "instagram": "dm"}


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/csat/{token}"


def invitation(session: Session, survey: CsatResponse, base_url: str) -> tuple[str, str]:
    """(text in the customer's language, delivery: "dm" | "reply" | "off") for the replies
    stage's ``replies.send_csat`` job."""
    conversation = session.get_one(Conversation, survey.conversation_id)
    workspace = session.get_one(Workspace, conversation.workspace_id)
    lang = survey_language(session, conversation)
    settings = (workspace.settings or {}).get("csat_delivery") or {}
    how = settings.get(survey.channel) if isinstance(settings, dict) else None
    if how not in ("dm", "reply", "off"):
        how = "reply" if conversation.is_private else DEFAULT_DELIVERY.get(survey.channel, "reply")
    return INVITATIONS[lang].format(url=survey_url(base_url, survey.token)), str(how)


@dataclass(frozen=True)
class CsatQuestion:
    token: str
    language: str
    text: CsatText
    answered: bool
    score: int | None
    reference: str
    rtl: bool


def do_send_csat(session: Session, clock: Clock, conversation: Conversation) -> CsatResponse:
    """Create the survey for this conversation (reusing an unanswered one) and ask replies to
    deliver its link on the conversation's channel."""
    open_one = (
        session.execute(
            select(CsatResponse).where(
                CsatResponse.conversation_id == conversation.id,
                CsatResponse.answered_at.is_(None),
            )
        )
        .scalars()
        .first()
    )
    if open_one is not None:
        return open_one
    now = clock.now()
    survey = CsatResponse(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        token=new_token(24),
        channel=conversation.channel,
        sent_at=now,
    )
    session.add(survey)
    session.flush()
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.CSAT_SENT,
        payload={"csat_id": survey.id, "channel": survey.channel},
    )
    enqueue_after_commit(session, CSAT_SEND_JOB, survey.id)
    return survey


def _by_token(session: Session, token: str) -> CsatResponse:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise NotFound("survey not found")
    survey = session.execute(
        select(CsatResponse).where(CsatResponse.token == token)
    ).scalar_one_or_none()
    if survey is None:
        raise NotFound("survey not found")
    return survey


def survey_language(session: Session, conversation: Conversation) -> str:
    customer = session.get(Customer, conversation.customer_id)
    workspace = session.get(Workspace, conversation.workspace_id)
    for lang in (
        customer.language if customer else None,
        conversation.language,
        workspace.default_language if workspace else None,
    ):
        # "ur-PK", "UR": the survey texts are per base language.
        code = (lang or "").split("-")[0].split("_")[0].lower()
        if code in TEXTS:
            return code
    return "en"


def csat_question(session: Session, token: str) -> CsatQuestion:
    survey = _by_token(session, token)
    conversation = session.get_one(Conversation, survey.conversation_id)
    lang = survey_language(session, conversation)
    return CsatQuestion(
        token=survey.token,
        language=lang,
        text=TEXTS[lang],
        answered=survey.answered_at is not None,
        score=survey.score,
        reference=conversation.reference,
        rtl=lang == "ur",
    )


def do_answer_csat(
    session: Session, clock: Clock, token: str, score: object, comment: str | None = None
) -> CsatResponse:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationFailed("score must be a whole number from 1 to 5")
    text = _CONTROL.sub("", comment or "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise ValidationFailed(f"comment is longer than {MAX_COMMENT_CHARS} characters")
    survey = _by_token(session, token)
    now = clock.now()
    if survey.answered_at is not None:
        raise Conflict("this survey has already been answered, thank you")
    if now - survey.sent_at > VALID_FOR:
        raise Conflict("this survey has expired")
    survey.score = score
    survey.comment = text or None
    survey.answered_at = now
    record(
        session,
        clock,
        workspace_id=survey.workspace_id,
        conversation_id=survey.conversation_id,
        name=E.CSAT_ANSWERED,
        actor_kind="customer",
        payload={"csat_id": survey.id, "score": score, "has_comment": bool(text)},
    )
    return survey
