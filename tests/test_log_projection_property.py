"""Any sequence of case commands, legal or not, leaves tables equal to a rebuild."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_fixtures import ID_OK, dump_projections, make_node, run

from node import cases
from node.home import Home
from node.store import NodeStore
from pki.errors import InputError

ACTIONS = [
    ("accept", {}), ("accept", {"missing_material": "M", "due_days": 3}),
    ("reject", {"reason": "r"}), ("request-supplement", {"materials": ["x"]}),
    ("supply", {"materials": ["x"]}), ("review", {}), ("decide", {"approve": True}),
    ("decide", {"approve": False, "reason": "no"}), ("conclude", {}),
    ("deliver", {"method": "邮寄"}), ("withdraw", {}), ("suspend", {"reason": "s"}),
    ("resume", {}), ("evaluate", {"score": 3}), ("evaluate", {"score": 0}),
]

steps = st.lists(
    st.one_of(st.just(("apply", None)),
              st.tuples(st.integers(0, len(ACTIONS) - 1), st.integers(0, 3))),
    min_size=1, max_size=30,
)


def test_random_command_sequences_match_a_rebuild(tmp_path_factory):
    home = make_node(tmp_path_factory.mktemp("prop"))
    items = json.loads(run(home, "matter", "list", "--json").output)
    matter = items[0]["code"]
    detail = json.loads(run(home, "matter", "show", matter, "--json").output)
    required = [m["name"] for m in detail.get("materials", []) if m.get("required")]
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
                    outcome = cases.apply(store, matter_code=matter, applicant=ID_OK,
                                          applicant_name="n", channel="window",
                                          materials=required, actor="a")
                    opened.append(outcome.case.case_no)
                    done += 1
                elif opened:
                    action, arguments = ACTIONS[step[0]]
                    cases.act(store, opened[step[1] % len(opened)], action, actor="a",
                              **arguments)
                    done += 1
            except InputError:
                pass
        # One record per accepted command, none for a refused one.
        assert store.log.size("540102") == start + done
        before = dump_projections(home / "node.db")
        store.rebuild()
        assert dump_projections(home / "node.db") == before

    check()
    store.close()
