"""Unit names as typed in a 分工表, folded and matched to the units of units.yaml."""

import pandas as pd
import pytest

from schedule import AmbiguousUnitError, UnitDirectory, UnknownUnitError, fold, split_unit_list


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("市市场监督管理局（知识产权局）", "市市场监督管理局(知识产权局)"),
        ("市市场监督管理局 【知识产权局】", "市市场监督管理局(知识产权局)"),
        ("县委〔办公室〕", "县委(办公室)"),
        ("县委[办公室]", "县委(办公室)"),
        ("  县 财政局\t", "县财政局"),
        ("县　财政局", "县财政局"),  # an ideographic space
        ("ＡＢＣ局", "abc局"),
        ("IP Office", "ipoffice"),
    ],
)
def test_fold(written, folded):
    assert fold(written) == folded


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("县财政局、县发改局", ["县财政局", "县发改局"]),
        ("县财政局，县发改局,县教育局", ["县财政局", "县发改局", "县教育局"]),
        ("县财政局；县发改局;县教育局", ["县财政局", "县发改局", "县教育局"]),
        ("县财政局/县发改局／县教育局", ["县财政局", "县发改局", "县教育局"]),
        ("县财政局\n县发改局\r\n县教育局", ["县财政局", "县发改局", "县教育局"]),
        (" 县财政局 、、 县发改局 、", ["县财政局", "县发改局"]), ("县财政局", ["县财政局"]), ("", []),
        (None, []), (float("nan"), []), (pd.NA, [])],
)
def test_split_unit_list(cell, names):
    assert split_unit_list(cell) == names


@pytest.fixture
def units():
    return UnitDirectory(
        [
            ("msa", "市市场监督管理局（知识产权局）", ["市场监管局", "市知识产权局"]),
            ("finance", "县财政局", []), ("court", "县人民法院", ("县法院",)),
            ("town-a", "某镇人民政府（东片）", []), ("town-b", "某镇人民政府（西片）", [])]
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("市市场监督管理局（知识产权局）", "msa"),
        ("市市场监督管理局(知识产权局)", "msa"),
        ("市市场监督管理局【知识产权局】", "msa"),
        ("市市场监督管理局", "msa"),  # the bracketed part left out
        (" 市场监管局 ", "msa"),
        ("市知识产权局", "msa"),
        ("县 财政局", "finance"),
        ("县法院", "court"),
        ("某镇人民政府〔西片〕", "town-b"),
    ],
)
def test_match_by_name_or_alias(units, name, code):
    assert units.match(name) == code


def test_unknown_name_suggests_the_closest_unit(units):
    with pytest.raises(UnknownUnitError) as caught:
        units.match("县财政厅")
    assert caught.value.name == "县财政厅"
    assert caught.value.closest == "县财政局"
    assert str(caught.value) == "未知单位「县财政厅」，最接近的已知单位是「县财政局」"


def test_an_unknown_name_always_names_the_closest_known_unit(units):
    with pytest.raises(UnknownUnitError) as caught:
        units.match("省教育考试院")
    assert caught.value.closest is not None
    assert str(caught.value).startswith("未知单位「省教育考试院」，最接近的已知单位是「")


def test_a_name_that_fits_two_units_is_an_error(units):
    with pytest.raises(AmbiguousUnitError) as caught:
        units.match("某镇人民政府")
    assert isinstance(caught.value, UnknownUnitError)
    assert caught.value.candidates == ("某镇人民政府（东片）", "某镇人民政府（西片）")
    assert "某镇人民政府" in str(caught.value)


def test_two_units_sharing_an_alias_is_ambiguous():
    units = UnitDirectory([("a", "县委宣传部", ["宣传部"]), ("b", "市委宣传部", ["宣传部"])])
    with pytest.raises(AmbiguousUnitError):
        units.match("宣传部")
    assert units.match("县委宣传部") == "a"


def test_blank_name_is_unknown(units):
    with pytest.raises(UnknownUnitError):
        units.match("  ")
