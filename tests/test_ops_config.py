"""Config schema, logging, generated docs and the systemd unit: the operator's files."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from node_fixtures import register_staff

from node import config_schema, logs
from node.cli import cli
from node.home import Home
from ops import gendocs
from pki.errors import MalformedError

UNIT = Path(__file__).resolve().parents[1] / "ops" / "systemd" / "tongban.service"


@pytest.fixture
def home(tmp_path) -> Home:
    result = CliRunner().invoke(cli, ["init", "--division", "540102", "--name", "城关区",
                                      "--home", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    return Home(tmp_path / "h")


def write(home: Home, extra: str) -> None:
    home.config_path.write_text('[node]\ndivision = "540102"\nname = "城关区"\n' + extra,
                                encoding="utf-8")


@pytest.mark.parametrize(("extra", "said"), [
    ('parent_adress = "10.0.0.1:7443"\n',
     "unknown key [node] parent_adress (did you mean parent_address?)"),
    ("[sync]\ninterval = 5\n",
     "unknown section [sync] (did you mean [link] interval_seconds for interval?)"),
    ("[link]\ninterval_secs = 5\n",
     "unknown key [link] interval_secs (did you mean interval_seconds?)"),
    ('[log]\nformat = "xml"\n', "[log] format got 'xml', want one of text, json"),
    ("[link]\nmax_batch_bytes = true\n", "[link] max_batch_bytes got True, want int"),
    ('listen_address = "7443"\n', "[node] listen_address got '7443': want HOST:PORT"),
])
def test_config_typos_are_refused_with_a_suggestion(home, extra, said):
    if extra.startswith("["):
        write(home, extra)
    else:
        write(home, extra)
    with pytest.raises(MalformedError) as err:
        home.load_config()
    assert said in err.value.diagnostics()
    result = CliRunner().invoke(cli, ["config", "check", "--home", str(home.path)])
    assert result.exit_code == 1
    assert said in result.output


def test_every_tunable_is_settable_and_shown_with_defaults(home):
    write(home, "[link]\ninterval_seconds = 2\nmax_backoff_seconds = 30\nmax_batch_bytes = 65536\n"
          "keepalive_seconds = 5\ndeadline_scale = 0.5\n[ops]\n"
          'metrics_address = "127.0.0.1:9464"\n')
    config = home.load_config()
    assert (config.interval_seconds, config.max_backoff_seconds, config.max_batch_bytes,
            config.keepalive_seconds, config.deadline_scale) == (2.0, 30.0, 65536, 5.0, 0.5)
    runner = CliRunner()
    shown = runner.invoke(cli, ["config", "show", "--json", "--home", str(home.path)])
    assert json.loads(shown.output)["link"]["max_batch_bytes"] == 65536
    assert "health_address" not in json.loads(shown.output).get("ops", {})
    full = json.loads(runner.invoke(cli, ["config", "show", "--defaults", "--json",
                                          "--home", str(home.path)]).output)
    assert full["ops"]["health_address"] == "" and full["log"]["level"] == "info"
    assert runner.invoke(cli, ["config", "check", "--home", str(home.path)]).exit_code == 0


def test_config_fields_follow_the_schema_and_save_only_what_differs(home):
    assert [f for f in config_schema.Config.__dataclass_fields__] == [
        s.attr for s in config_schema.SETTINGS]
    config = home.load_config()
    config.deadline_scale = 0.25
    home.save_config(config)
    text = home.config_path.read_text(encoding="utf-8")
    assert "[link]\ndeadline_scale = 0.25" in text and "interval_seconds" not in text
    assert home.load_config() == config


def test_generated_docs_are_fresh():
    for path, text in gendocs.generated().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python -m ops.gendocs")


def test_verbose_is_accepted_after_the_subcommand(home):
    result = CliRunner().invoke(cli, ["config", "check", "--home", str(home.path), "-v"])
    assert result.exit_code == 0, result.output


def test_repeated_failures_collapse_into_one_line_with_a_count():
    out = io.StringIO()
    collapse = logs.setup("info", "text", out)
    link = logging.getLogger("tongban.link")
    for _ in range(5):
        link.warning("link down: parent unreachable")
    link.info("synced")
    link.warning("link down: parent unreachable")
    collapse.flush()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d WARNING tongban.link: "
                    r"link down: parent unreachable$", lines[0])
    assert "previous line repeated 4 more times" in lines[1]
    assert lines[2].endswith("INFO tongban.link: synced")


def test_journald_priorities_and_json_lines(monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    out = io.StringIO()
    logs.setup("debug", "text", out)
    logging.getLogger("tongban.certs").error("certificate expired")
    logging.getLogger("tongban.link").debug("retrying")
    assert out.getvalue().splitlines() == ["<3>tongban.certs: certificate expired",
                                           "<7>tongban.link: retrying"]
    out = io.StringIO()
    logs.setup("info", "json", out)
    logging.getLogger("tongban.link").warning("link down")
    line = json.loads(out.getvalue())
    assert (line["level"], line["logger"], line["message"]) == ("warning", "tongban.link",
                                                                 "link down")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_unit_rates_2_5_or_lower():
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(UNIT)],
                            capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.5
    text = UNIT.read_text(encoding="utf-8")
    for line in ("Type=notify", "WatchdogSec=", "StateDirectory=tongban", "UMask=0077",
                 "ProtectHome=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=",
                 "SystemCallFilter=@system-service", "ExecReload="):
        assert line in text


def test_case_apply_quiet_prints_only_the_number_and_writes_report_json(home):
    runner = CliRunner()
    at = ["--home", str(home.path)]
    assert runner.invoke(cli, ["matter", "import", "--sample", *at]).exit_code == 0
    register_staff(home.path)
    code = json.loads(runner.invoke(cli, ["matter", "list", "--json", *at]).output)[0]["code"]
    applied = runner.invoke(cli, ["case", "apply", "--matter", code, "--applicant",
                                  "540102199001010011", "--name", "扎西", "--quiet", *at])
    assert applied.exit_code == 0, applied.output
    number = applied.output.strip()
    assert re.fullmatch(r"540102-\d{4}-\d{7}", number), applied.output
    asked = runner.invoke(cli, ["case", "request-supplement", number, "--material", "居民户口簿",
                                "--json", *at])
    assert json.loads(asked.output) == {"case_no": number, "state": "supplement",
                                        "warnings": []}
    backup = runner.invoke(cli, ["db", "backup", "--out", str(home.path.parent / "b.db"),
                                 "--json", *at])
    assert json.loads(backup.output)["division"] == "540102"


def test_the_annotated_example_config_loads():
    example = UNIT.parents[1] / "tongban.example.toml"
    assert config_schema.problems(tomllib.loads(example.read_text(encoding="utf-8"))) == []
