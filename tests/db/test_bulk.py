"""Whole-program reads pause the cyclic collector while they build rows, and leave it as they found it."""

import gc

import pytest

from db import bulk_read


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
