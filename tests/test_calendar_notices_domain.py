"""node.calendar and node.notices called directly on a real node store (no CLI runner)."""

from __future__ import annotations

import pytest

from node import calendar, notices
from node.home import Config, Home
from node.maintenance import create_home
from node.store import NodeStore
from pki.errors import InputError


@pytest.fixture
def store(tmp_path):
    home = Home(tmp_path / "region")
    create_home(home, Config(division="540000", name="西藏"))
    opened = NodeStore.open(home)
    yield opened
    opened.close()


def test_publish_sorts_dedups_and_is_in_force(store):
    done = calendar.publish(store, 2027, ["2027-02-08", "2027-02-07", "2027-02-08"],
                            ["2027-02-13"])
    assert (done.holidays, done.working_days) == (["2027-02-07", "2027-02-08"], ["2027-02-13"])
    assert calendar.in_force(store) == [
        {"day": "2027-02-07", "workday": False, "from": "540000"},
        {"day": "2027-02-08", "workday": False, "from": "540000"},
        {"day": "2027-02-13", "workday": True, "from": "540000"},
    ]


@pytest.mark.parametrize(("holidays", "workdays", "why"), [
    ([], [], "nothing to publish"),
    (["2027-02-30"], [], "bad holiday date"),
    (["2026-12-31"], [], "is not in 2027"),
    (["2027-05-03"], ["2027-05-03"], "given both as holiday and as working day"),
])
def test_publish_refuses_and_writes_nothing(store, holidays, workdays, why):
    with pytest.raises(InputError, match=why):
        calendar.publish(store, 2027, holidays, workdays)
    assert store.log.size("540000") == 0


def test_notices_sent_and_listed(store):
    first = notices.send(store, "540121", "代收材料已寄出", "扎西的户籍材料已于今日寄出")
    second = notices.send(store, "110000", "协查", "请核实")
    assert (first, second) == (0, 1)
    listed = notices.listed(store)
    assert [(n["seq"], n["recipient"], n["title"]) for n in listed] == [
        (0, "540121", "代收材料已寄出"), (1, "110000", "协查")]


@pytest.mark.parametrize(("recipient", "title", "why"), [
    ("540000", "t", "addressed to this node itself"),
    ("540121", " ", "title must not be empty"),
    ("54012", "t", "bad division code"),
])
def test_notice_refusals(store, recipient, title, why):
    with pytest.raises(InputError, match=why):
        notices.send(store, recipient, title, "text")
    assert notices.listed(store) == []
