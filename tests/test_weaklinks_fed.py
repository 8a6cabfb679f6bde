"""A copied federation is independent of its template."""

from ops.fedcheck import (
    COUNTY,
    REGION,
    add_events,
    copy_federation,
    size,
    verify_logs,
)


def test_copied_federation_is_independent(fed_template, tmp_path):
    template = fed_template
    copy = copy_federation(template, tmp_path / "copy")
    add_events(copy.nodes[COUNTY].home, 4)
    assert size(copy.nodes[COUNTY].home, COUNTY) == size(template.nodes[COUNTY].home, COUNTY) + 4
    verify_logs(copy.nodes[COUNTY].home)
    verify_logs(copy.nodes[REGION].home)
