"""Session-wide fixtures: enrolled federations, built once, copied by every test.

Enrolment (init, csr, issue, import for three nodes and two catalogue imports)
runs in this process through the real CLI; each test gets a copy with its own
ports (ops.fedcheck.copy_federation), so tests never see each other's writes.
The oversight federation (tests/oversight_fixtures.py) is built the same way,
once for the supervision, statistics and report suites.
"""

from __future__ import annotations

from pathlib import Path

import oversight_fixtures
import pytest
from node_fixtures import register_staff, tongban

from ops.fedcheck import COUNTY, REGION, build_federation, copy_federation
from ops.localfed import Federation


@pytest.fixture(scope="session")
def fed_template(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    """National 000000 (CA only), region 540000, county 540102; catalogues on both nodes,
    and the test staff registered on both."""
    fed = build_federation(tmp_path_factory.mktemp("fed-template"), run=tongban)
    for division in (REGION, COUNTY):
        register_staff(fed.nodes[division].home)
    return fed


@pytest.fixture
def fed_copy(fed_template: Federation, tmp_path: Path) -> Federation:
    """A private copy of the template, no server running; stopped again after the test."""
    fed = copy_federation(fed_template, tmp_path / "fed")
    yield fed
    fed.stop_all()


@pytest.fixture(scope="session")
def oversight_template(tmp_path_factory: pytest.TempPathFactory
                       ) -> tuple[Federation, dict[str, str]]:
    """The oversight federation and its case numbers by name (c1…c10), never started."""
    return oversight_fixtures.build(tmp_path_factory.mktemp("oversight"))


@pytest.fixture(scope="session")
def oversight_synced(oversight_template: tuple[Federation, dict[str, str]],
                     tmp_path_factory: pytest.TempPathFactory
                     ) -> tuple[Federation, dict[str, str]]:
    """A copy of the oversight federation after both counties synced to the region once."""
    template, cases = oversight_template
    fed = copy_federation(template, tmp_path_factory.mktemp("oversight-synced"))
    fed.start(oversight_fixtures.REGION)
    try:
        fed.sync(oversight_fixtures.COUNTY_A)
        fed.sync(oversight_fixtures.COUNTY_B)
    finally:
        fed.stop_all()
    return fed, cases


#: The files that take longest (wall time, measured with --durations): handed to xdist
#: workers first, so none of them starts last and runs alone at the end.
LONGEST_FIRST = ("test_weaklinks_sync.py", "test_recovery.py", "test_fan_in.py",
                 "test_federation.py", "test_disk_limits.py", "test_ops_fed.py",
                 "test_licence.py", "test_crash.py", "test_uplink_session.py", "test_fuzz.py",
                 "test_workflow.py", "test_bundle.py", "test_supervision.py",
                 "test_durability.py", "test_report.py")
#: Long files whose tests share nothing but session templates: xdist may send each of
#: their tests to a different worker. Every other file runs whole in one worker, so its
#: module-scoped fixtures are built once and its tests keep their order.
SPREAD = frozenset({"test_weaklinks_sync.py", "test_recovery.py", "test_disk_limits.py",
                    "test_crash.py", "test_uplink_session.py", "test_fuzz.py",
                    "test_durability.py"})


def pytest_itemcollected(item: pytest.Item) -> None:
    """A spread file's test must not share a module- or class-scoped fixture."""
    if item.path.name not in SPREAD:
        return
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        for d in defs:
            if d.scope in ("module", "class", "package"):
                raise pytest.UsageError(f"{item.nodeid} uses the {d.scope}-scoped fixture "
                                        f"{d.argname}: take its file out of SPREAD")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (stable: collection order otherwise)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pytest without xdist: one process, nothing to schedule
    pass
else:
    class _FileOrTestScheduling(LoadScopeScheduling):
        """Whole files to one worker, except SPREAD files: one test at a time."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if Path(path).name in SPREAD else path

    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
        return _FileOrTestScheduling(config, log)
