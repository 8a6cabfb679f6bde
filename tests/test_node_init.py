import os
import stat
import tomllib

import pytest
from node_fixtures import run

from node.home import Home
from pki.errors import MalformedError


def test_init_creates_home_with_private_key(tmp_path):
    home = tmp_path / "h"
    result = run(home, "init", "--division", "540102", "--name", "城关区")
    assert result.output.splitlines()[0] == f"created county node 540102 城关区 in {home}"
    config = tomllib.loads((home / "tongban.toml").read_text(encoding="utf-8"))
    assert config["node"]["division"] == "540102"
    assert config["node"]["name"] == "城关区"
    assert stat.S_IMODE(os.stat(home / "node.key").st_mode) == 0o600
    assert (home / "node.db").exists()


def test_levels_follow_from_the_code(tmp_path):
    for code, level in [("000000", "national"), ("540000", "province"),
                        ("540100", "prefecture"), ("540102001000", "township")]:
        out = run(tmp_path / code, "init", "--division", code, "--name", "n").output
        assert out.startswith(f"created {level} node {code}")


def test_next_step_depends_on_the_level(tmp_path):
    national = run(tmp_path / "n", "init", "--division", "000000", "--name", "国家").output
    assert national.splitlines()[1].startswith("next: tongban pki init-root")
    county = run(tmp_path / "c", "init", "--division", "540102", "--name", "城关区").output
    assert county.splitlines()[1].startswith("next: tongban pki csr")
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700


def test_init_refuses_existing_home_and_changes_nothing(tmp_path):
    home = tmp_path / "h"
    run(home, "init", "--division", "540102", "--name", "城关区")
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    result = run(home, "init", "--division", "540121", "--name", "林周县", ok=False)
    assert result.exit_code == 1
    assert f"{home} already holds a tongban node; nothing changed" in result.output
    after = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    assert after == before


def test_bad_division_code_is_refused(tmp_path):
    result = run(tmp_path / "h", "init", "--division", "54010", "--name", "x", ok=False)
    assert result.exit_code == 1
    assert "bad division code '54010'" in result.output
    assert not (tmp_path / "h").exists()


def test_commands_without_a_home_say_how_to_fix_it(tmp_path):
    result = run(tmp_path / "missing", "case", "list", ok=False)
    assert result.exit_code == 2
    assert "run 'tongban init' or pass --home" in result.output


def test_link_deadline_scale_is_written_only_when_set_and_checked_on_load(tmp_path):
    home = tmp_path / "h"
    run(home, "init", "--division", "540102", "--name", "城关区")
    h = Home(home)
    assert "[link]" not in h.config_path.read_text(encoding="utf-8")
    assert h.load_config().deadline_scale == 1.0
    config = h.load_config()
    config.deadline_scale = 0.25
    h.save_config(config)
    assert tomllib.loads(h.config_path.read_text(encoding="utf-8"))["link"] == {
        "deadline_scale": 0.25}
    assert h.load_config().deadline_scale == 0.25
    for bad in ("0", "-1", '"fast"', "true", "inf"):
        h.config_path.write_text(f'[node]\ndivision = "540102"\nname = "x"\n'
                                 f"[link]\ndeadline_scale = {bad}\n", encoding="utf-8")
        with pytest.raises(MalformedError, match="deadline_scale got"):
            h.load_config()
