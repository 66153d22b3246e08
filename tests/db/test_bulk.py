"""Whole-program reads pause the cyclic collector while they build rows, and leave it as they found it;
constant IN lists are written into the SQL."""

import gc

import pytest
from sqlalchemy import column, select, table

from db import bulk_read, one_of


def test_the_collector_waits_inside_and_runs_again_after_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), bulk_read():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()


def test_an_inner_read_leaves_the_pause_to_the_outer_one():
    with bulk_read():
        with bulk_read():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        with bulk_read():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_one_of_writes_the_code_s_names_into_the_sql_and_refuses_anything_else():
    states = table("notices", column("state"))
    sql = str(select(states.c.state).where(one_of(states.c.state, ("sent", "unknown"))).compile())
    assert "IN ('sent', 'unknown')" in sql and "POSTCOMPILE" not in sql
    with pytest.raises(ValueError):
        one_of(states.c.state, ("sent', 'x",))
