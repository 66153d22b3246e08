"""Candidate notices for every kind, before claiming: the tasks' ladder, phase notices and the bulletin
(tasks.py), self-check forms (selfcheck.py), remediation items (remediation.py), extensions
(extensions.py)."""

from db.ladders.parts import CONTENT_PARTS, content_candidates
from db.ladders.tasks import OpenInstances, bulletin_candidates, plan_candidates

__all__ = ["CONTENT_PARTS", "OpenInstances", "bulletin_candidates", "content_candidates", "plan_candidates"]
