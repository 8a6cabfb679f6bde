"""Any sequence of case commands, legal or not, leaves tables equal to a rebuild.

The commands include the handling modes: several 容缺 materials, 补正 answered in
part, 告知承诺 with its 核查 (kept or false), and 一件事 applications whose member
cases move the theme case.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_fixtures import ID_OK, dump_projections, make_node, run

from node import cases
from node.home import Home
from node.store import NodeStore
from pki.errors import InputError

#: Matters the sequences apply under: a plain one, one with two 容缺 materials (道路货运),
#: one with 告知承诺 (消防安全检查), and a theme (开办餐饮店“一件事”).
MATTERS = ("540102-GG-001", "540102-XK-007", "540102-XK-009", "540102-YJS-001")
OWED = ["驾驶人员从业资格证", "安全生产管理制度文本"]
COMMITTED = ["场所平面布置图和消防设施平面图", "消防安全制度、灭火和应急疏散预案"]

ACTIONS = [
    ("accept", {}), ("accept", {"missing_material": "M", "due_days": 3}),
    ("accept", {"missing_material": OWED, "due_days": [2, 5]}),
    ("accept", {"committed": COMMITTED}),
    ("reject", {"reason": "r"}), ("request-supplement", {"materials": ["x"]}),
    ("request-supplement", {"materials": OWED}),
    ("supply", {"materials": ["x"]}), ("supply", {"materials": OWED[:1]}),
    ("supply", {"materials": OWED[1:]}), ("supply", {}), ("review", {}),
    ("decide", {"approve": True}),
    ("decide", {"approve": False, "reason": "no"}), ("conclude", {}),
    ("deliver", {"method": "邮寄"}), ("withdraw", {}), ("suspend", {"reason": "s"}),
    ("resume", {}), ("evaluate", {"score": 3}), ("evaluate", {"score": 0}),
    ("check", {"commitment_kept": True}),
    ("check", {"commitment_kept": False, "reason": "不实"}),
]

steps = st.lists(
    st.one_of(st.tuples(st.just("apply"), st.integers(0, len(MATTERS) - 1)),
              st.tuples(st.integers(0, len(ACTIONS) - 1), st.integers(0, 7))),
    min_size=1, max_size=30,
)


def test_random_command_sequences_match_a_rebuild(tmp_path_factory):
    home = make_node(tmp_path_factory.mktemp("prop"))
    handed = {}
    for code in MATTERS:
        detail = json.loads(run(home, "matter", "show", code, "--json").output)
        handed[code] = [m["name"] for m in detail.get("materials", []) if m.get("required")
                        and m["name"] not in OWED + COMMITTED]
    store = NodeStore.open(Home.locate(home))

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def check(sequence):
        opened: list[str] = []
        start, done = store.log.size("540102"), 0
        for step in sequence:
            try:
                if step[0] == "apply":
                    code = MATTERS[step[1]]
                    outcome = cases.apply(store, matter_code=code, applicant=ID_OK,
                                          applicant_name="n", channel="window",
                                          materials=handed[code], actor="a")
                    opened += [outcome.case.case_no, *(m.case_no for m in outcome.members)]
                    done += 1 + len(outcome.members)
                elif opened:
                    action, arguments = ACTIONS[step[0]]
                    cases.act(store, opened[step[1] % len(opened)], action, actor="a",
                              **arguments)
                    done += 1
            except InputError:
                pass
        # One record per accepted command (one per case an application opens), none for a
        # refused one.
        assert store.log.size("540102") == start + done
        before = dump_projections(home / "node.db")
        store.rebuild()
        assert dump_projections(home / "node.db") == before

    check()
    store.close()
