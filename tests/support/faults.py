"""What every fault scenario must show, judged by the robot's own log (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from bench.fault_campaign import Campaign


def assert_exactly_once(campaign: Campaign) -> None:
    assert campaign.errors == [] and campaign.tally.failed_runs == 0
    audit = campaign.audit()
    assert audit.received > 0
    assert audit.duplicates == 0, "a robot took an item twice"
    assert audit.beside == 0, "a stale notice went out beside the current one"
    assert audit.lost == [], "a notice neither taken nor shown as failed or unknown"
    assert audit.pending == 0, "still owed after the healing checks"
    assert all(count == 1 for count in audit.phase_events.values()), audit.phase_events
