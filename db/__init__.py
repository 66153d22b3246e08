"""Persistence and the domain commands, over SQLAlchemy 2; imports schedule only.

Tables are in db.models (one module per aggregate); everything other packages use is named here."""

from db.acceptance import (
    MANIFEST,
    PackageRefused,
    checklist,
    matches,
    package_data,
    prepare_out_dir,
    refuse_foreign,
)
from db.accounts import add_user, authenticate
from db.assignments import ack_candidates, ack_counts, acked_codes, acknowledge, unacknowledged
from db.decisions import decisions, needs_decision, pending_decisions, record_decision
from db.engine import alembic_config, forget_engine, forget_engines, get_engine, session_factory
from db.events import record_event
from db.evidence import Staged, commit_files, stage, store
from db.extensions import approve_extension, list_extensions, program_end, reject_extension, request_extension
from db.gates import GATES, GateMissing, GateResult, approve_phase, evaluate, phase_decision
from db.importer import ImportResult, PlanConflict, import_program
from db.ladders import CONTENT_PARTS, bulletin_candidates, content_candidates, plan_candidates
from db.models import (
    NOTICE_STATES,
    AssignmentAck,
    Base,
    ChannelHealth,
    CoordinatorDecision,
    Delivery,
    DoneClaim,
    Event,
    ExtensionRequest,
    Finding,
    Notice,
    NoticeChannel,
    Phase,
    Program,
    ProgressReport,
    RateEvent,
    RateLimit,
    RemediationItem,
    SelfCheckReturn,
    SelfCheckRow,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
    UnitLink,
    UnitMember,
)
from db.notices import Candidate, claim, notice_key, outbox_entries
from db.phases import Transition, advance
from db.portal_guard import first_submission, penalty_seconds, recent_failures, record_failure, signing_key
from db.programs import InvalidInput, NotFound, ProgramContext, load_program, phases
from db.remediation import (
    accept_item,
    add_evidence,
    derive_items,
    is_item_code,
    item_due,
    list_items,
    pending_findings,
    report_item,
)
from db.reviews import (
    check_report,
    claim_candidates,
    claims,
    import_reports,
    pass_claim,
    return_claim,
    submit_report,
)
from db.scores import card, interview_list, scores_report, unit_scores
from db.selfcheck import (
    COMPLETION_LABELS,
    FINDING_LABELS,
    FORM_FORMAT,
    SCORE_MAX,
    SCORE_MIN,
    FormSpec,
    ReturnedForm,
    ReturnedRow,
    form_spec,
    form_specs,
    missing_units,
    parse_completion,
    record_returns,
    selfcheck_summary,
    split_evidence,
    units_with_tasks,
    validate_returns,
)
from db.tasks import Recipients, collectives_of, record_report, status_summary, task_exists, task_rows
from db.unit_links import LinkHolder, issue_link, link_url, resolve_link, revoke_links

__all__ = [
    "add_user", "authenticate", "ack_candidates", "ack_counts", "acked_codes", "acknowledge", "unacknowledged",
    "store", "AssignmentAck", "DoneClaim", "NoticeChannel", "UnitLink", "first_submission", "penalty_seconds",
    "recent_failures", "record_failure", "signing_key", "check_report", "claim_candidates", "claims",
    "import_reports", "pass_claim", "return_claim", "submit_report", "LinkHolder", "issue_link", "link_url",
    "resolve_link", "revoke_links",
    "MANIFEST", "PackageRefused", "prepare_out_dir", "refuse_foreign",
    "PlanConflict",
    "Staged", "commit_files", "stage",
    "accept_item", "add_evidence", "advance", "alembic_config", "approve_extension", "approve_phase", "Base",
    "bulletin_candidates", "Candidate", "card", "ChannelHealth", "checklist", "claim", "collectives_of",
    "COMPLETION_LABELS", "content_candidates", "CONTENT_PARTS", "CoordinatorDecision", "decisions",
    "Delivery", "derive_items", "evaluate", "Event", "ExtensionRequest", "Finding", "FINDING_LABELS",
    "forget_engine", "forget_engines", "FORM_FORMAT", "form_spec", "form_specs", "FormSpec", "GateMissing",
    "GateResult", "GATES", "get_engine", "import_program", "ImportResult", "interview_list", "InvalidInput",
    "is_item_code", "item_due", "list_extensions", "list_items", "load_program", "matches", "missing_units",
    "needs_decision", "pending_decisions", "NotFound", "Notice", "NOTICE_STATES", "notice_key", "outbox_entries", "package_data",
    "parse_completion", "pending_findings", "Phase", "phase_decision", "phases", "plan_candidates", "Program",
    "program_end", "ProgramContext", "ProgressReport", "RateEvent", "RateLimit", "Recipients",
    "record_decision", "record_event", "record_report", "record_returns", "reject_extension",
    "RemediationItem", "report_item", "request_extension", "ReturnedForm", "ReturnedRow", "SCORE_MAX",
    "SCORE_MIN", "scores_report", "selfcheck_summary", "SelfCheckReturn", "SelfCheckRow", "session_factory",
    "split_evidence", "status_summary", "Task", "task_exists", "task_rows", "TaskInstance", "TaskUnit",
    "Transition", "Unit", "unit_scores", "UnitMember", "units_with_tasks", "validate_returns"]
