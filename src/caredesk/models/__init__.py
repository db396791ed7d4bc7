"""All tables. Importing this package registers every model on ``Base.metadata``."""

from caredesk.kit.db import Base
from caredesk.models.agent import Agent, Membership
from caredesk.models.analytics import (
    ReportArrivalsDaily,
    ReportConversation,
    ReportDaily,
    ReportHourly,
    ReportHourlyTotal,
)
from caredesk.models.conversation import (
    Conversation,
    ConversationMark,
    CsatResponse,
    FollowUp,
    Message,
    Note,
    Resolution,
)
from caredesk.models.customer import Customer, Identity
from caredesk.models.event import Event
from caredesk.models.inbox import Counter, InboxItem
from caredesk.models.listening import ListeningRule
from caredesk.models.outbox import OutboxItem
from caredesk.models.replies import CannedResponse, CannedVariant, KbArticle
from caredesk.models.routing import RoutingRule, SlaPolicy
from caredesk.models.triage import TriageCorrection, TriageModel
from caredesk.models.workspace import ChannelAccount, PollCursor, Team, TeamMember, Workspace

__all__ = [
    "Agent",
    "Base",
    "CannedResponse",
    "CannedVariant",
    "ChannelAccount",
    "Conversation",
    "ConversationMark",
    "Counter",
    "CsatResponse",
    "Customer",
    "Event",
    "FollowUp",
    "Identity",
    "InboxItem",
    "KbArticle",
    "ListeningRule",
    "Membership",
    "Message",
    "Note",
    "OutboxItem",
    "PollCursor",
    "ReportArrivalsDaily",
    "ReportConversation",
    "ReportDaily",
    "ReportHourly",
    "ReportHourlyTotal",
    "Resolution",
    "RoutingRule",
    "SlaPolicy",
    "Team",
    "TeamMember",
    "TriageCorrection",
    "TriageModel",
    "Workspace",
]
