"""The CLI imports a command's module only when it runs (issue 18: `case list` whole
command within its time; gRPC, the QR writer and the licence verifier cost ~0.3 s of
start-up that a listing never uses)."""

from __future__ import annotations

import subprocess
import sys

from node.cli import _COMMANDS, cli

#: Modules that a case listing must not import.
HEAVY = ("grpc", "segno", "pygal", "node.licence_verify", "node.audits", "sync.audit",
         "node.link", "node.report")


def test_every_lazy_name_loads_the_command_of_that_name():
    assert sorted(cli.commands) == sorted(_COMMANDS)
    for name, command in cli.commands.items():
        assert command.name == name
        assert any(p.name == "verbose" for p in _leaf(command).params), name


def _leaf(command):
    while hasattr(command, "commands") and command.commands:
        command = next(iter(command.commands.values()))
    return command


def test_case_list_imports_none_of_the_heavy_modules():
    probe = ("import sys\nfrom node.cli import cli\n"
             "try:\n    cli(['case', 'list', '--help'], prog_name='tongban')\n"
             "except SystemExit:\n    pass\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
