"""Session-wide fixtures: enrolled federations, built once, copied by every test.

Enrolment (init, csr, issue, import for three nodes and two catalogue imports)
runs in this process through the real CLI; each test gets a copy with its own
ports (ops.fedcheck.copy_federation), so tests never see each other's writes.
The oversight federation (tests/oversight_fixtures.py) is built the same way,
once for the supervision, statistics and report suites.
"""

from __future__ import annotations

from pathlib import Path

import crossregion_fixtures
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


@pytest.fixture(scope="session")
def cross_template(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    """The two-region federation of tests/crossregion_fixtures.py, the 跨省通办 list
    synced down to every county; never left running."""
    fed = crossregion_fixtures.build(tmp_path_factory.mktemp("cross-template"))
    try:
        for division in crossregion_fixtures.PARENTS:
            fed.start(division)
        crossregion_fixtures.spread_list(fed)
    finally:
        fed.stop_all()
    return fed


@pytest.fixture
def cross_copy(cross_template: Federation, tmp_path: Path) -> Federation:
    """A private copy of the two-region federation, no server running."""
    fed = copy_federation(cross_template, tmp_path / "fed")
    yield fed
    fed.stop_all()


@pytest.fixture
def cross_fed(cross_copy: Federation) -> Federation:
    """A private copy of the two-region federation with its five parents serving."""
    for division in crossregion_fixtures.PARENTS:
        cross_copy.start(division)
    return cross_copy
