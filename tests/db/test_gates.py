"""The exit gates are one explicit registry: every phase kind has its gate, whatever a process imported, and a
kind without one is an error, never a gate that holds."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from db import GATES, GateMissing, Phase, evaluate
from schedule import PHASE_KINDS


def test_every_phase_kind_has_exactly_one_gate():
    # The five preset kinds, and `phase` for the phases a plan names itself.
    assert set(GATES) == {*PHASE_KINDS, "phase"}


def test_a_phase_kind_without_a_gate_is_an_error(monkeypatch):
    monkeypatch.delitem(GATES, "phase")
    phase = Phase(program_id="demo-city", seq=9, kind="unknown", name="?", start=date(2023, 1, 1),
                  end=date(2023, 1, 2), state="open")
    with pytest.raises(GateMissing, match="unknown"):
        evaluate(None, "demo-city", phase, date(2023, 1, 3))


def test_a_process_that_imports_only_the_gates_sees_every_gate():
    # The bug this replaces: a `decide` run on a worker imported the gates module but not the module that
    # registered the content gates, found no self-check gate, and asked the coordinator nothing.
    code = "import db.gates; print(sorted(db.gates.GATES))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == str(sorted([*PHASE_KINDS, "phase"]))
