"""The tables, one module per aggregate; importing the package registers them all on `Base.metadata`."""

from db.models.core import (
    Base,
    Event,
    InstallationSecret,
    Phase,
    Program,
    ProgressReport,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
    UnitMember,
    UTCDateTime,
)
from db.models.decisions import CoordinatorDecision
from db.models.delivery import ChannelHealth, Delivery, NoticeChannel, RateEvent, RateLimit
from db.models.digests import DigestNumber
from db.models.extensions import ExtensionRequest
from db.models.marks import CheckMark
from db.models.notices import NOTICE_STATES, Notice
from db.models.portal import (
    AssignmentAck,
    DoneClaim,
    PortalFailure,
    PortalKey,
    PortalSubmission,
    PortalUser,
    UnitLink,
)
from db.models.remediation import RemediationItem
from db.models.selfcheck import Finding, SelfCheckReturn, SelfCheckRow

__all__ = [
    "Base", "CheckMark", "InstallationSecret", "NOTICE_STATES", "ChannelHealth", "CoordinatorDecision",
    "Delivery",
    "DigestNumber", "Event", "ExtensionRequest", "Finding", "Notice", "Phase", "Program", "ProgressReport",
    "RateEvent", "RateLimit", "RemediationItem", "SelfCheckReturn", "SelfCheckRow", "Task", "TaskInstance",
    "TaskUnit", "Unit", "UnitMember", "UTCDateTime", "AssignmentAck", "DoneClaim", "PortalFailure",
    "PortalKey", "PortalSubmission", "PortalUser", "UnitLink", "NoticeChannel"]
