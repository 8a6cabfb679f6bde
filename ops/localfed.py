"""A local federation on 127.0.0.1, built only with `tongban` commands.

Used by the demo and the federation tests: every node is a real home folder,
enrolled through `pki csr` / `pki issue` / `pki import`, and served by a real
`tongban serve` process with mutual TLS.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.home import Home
from node.wiring import identity

NAMES = {
    "000000": "国家节点",
    "540000": "西藏自治区",
    "540100": "拉萨市",
    "540102": "城关区",
    "540121": "林周县",
}


#: The staff the demo registers on each county (node.staff): a window clerk, a reviewer
#: and a section chief who decides, so 受理, 审查 and 决定 are three people.
STAFF = (("窗口03", "次仁", ("clerk",)), ("审查01", "卓玛", ("reviewer",)),
         ("科长", "普布", ("approver", "supervisor")))
#: Which of them does each case action (the role node.authority.ROLE_FOR_ACTION asks for).
ACTOR_FOR_ROLE = {"clerk": "窗口03", "reviewer": "审查01", "approver": "科长"}


def log_records(home: Path, origin: str) -> list[bytes]:
    """One origin's log as stored in a node home, in sequence order (exact bytes)."""
    db = sqlite3.connect(home / "node.db")
    try:
        return [r[0] for r in db.execute(
            "SELECT data FROM records WHERE origin = ? ORDER BY seq", (origin,))]
    finally:
        db.close()


def mark_drill(home: Path) -> None:
    """A local federation is a drill: $TONGBAN_CLOCK may pin its clock (node.clock_guard)."""
    config = Home(home).load_config()
    config.clock_drill = True
    Home(home).save_config(config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tongban(*args: str, home: Path | None = None, check: bool = True,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as an operator would."""
    command = [sys.executable, "-m", "node.cli", *args]
    if home is not None:
        command += ["--home", str(home)]
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise RuntimeError(f"tongban {' '.join(args)} failed ({result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result


#: Runs one `tongban` command with ``tongban``'s signature and result.
Runner = Callable[..., subprocess.CompletedProcess]


@dataclass
class Node:
    division: str
    home: Path
    port: int
    parent: Node | None = None
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Federation:
    root: Path
    nodes: dict[str, Node] = field(default_factory=dict)
    #: How enrolment and ``sync`` commands run: a subprocess each, as an operator would
    #: (the default). Test setup passes an in-process runner of the same CLI, because
    #: an interpreter start per command costs more than most tests themselves.
    run: Runner = tongban

    def add(self, division: str, parent: str | None = None, parent_address: str | None = None
            ) -> Node:
        """Create and enrol a node; the parent must exist already (or be None for 000000)."""
        home = self.root / division
        upper = self.nodes[parent] if parent else None
        address = parent_address or (upper.address if upper else "")
        port = free_port()
        self.run("init", "--division", division, "--name", NAMES.get(division, division),
                 "--parent-address", address, "--listen", f"127.0.0.1:{port}", home=home)
        mark_drill(home)
        if upper is None:
            self.run("pki", "init-root", home=home)
        else:
            self.run("pki", "csr", home=home)
            issued = self.root / f"{division}.pem"
            self.run("pki", "issue", str(home / "node.csr"), "--out", str(issued),
                     home=upper.home)
            self.run("pki", "import", str(issued), home=home)
        node = Node(division, home, port, upper)
        self.nodes[division] = node
        return node

    def start(self, division: str, uplink: bool = False) -> Node:
        """Start `tongban serve`; without ``uplink`` the caller drives `sync --once` itself."""
        node = self.nodes[division]
        node.log_path = self.root / f"{division}.log"
        command = [sys.executable, "-m", "node.cli", "serve", "--home", str(node.home)]
        if not uplink:
            command.append("--no-uplink")
        with open(node.log_path, "ab") as log:
            node.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_serving(node)
        return node

    def stop(self, division: str, kill: bool = False) -> None:
        node = self.nodes[division]
        if node.process is None:
            return
        if kill:
            node.process.kill()
        else:
            node.process.terminate()
        try:
            node.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
        node.process = None

    def stop_all(self) -> None:
        for division in list(self.nodes):
            self.stop(division)

    def sync(self, division: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("sync", "--once", home=self.nodes[division].home, check=check)

    def sync_up_then_down(self) -> None:
        """Leaves first up to the top, then the top down to the leaves."""
        by_depth = sorted((n for n in self.nodes.values() if n.parent),
                          key=lambda n: -len(_ancestry(n)))
        for node in by_depth:
            self.sync(node.division)
        for node in reversed(by_depth):
            self.sync(node.division)


def _ancestry(node: Node) -> list[Node]:
    out = []
    while node.parent:
        out.append(node.parent)
        node = node.parent
    return out


def wait_serving(node: Node, timeout: float = 60.0) -> None:
    """Wait until the node answers the gRPC health check over mutual TLS."""
    ident = identity(Home(node.home))
    options = [("grpc.ssl_target_name_override", f"node-{node.division}.tongban")]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process is not None and node.process.poll() is not None:
            log = node.log_path.read_text() if node.log_path else ""
            raise RuntimeError(f"tongban serve {node.division} exited: {log[-2000:]}")
        with grpc.secure_channel(node.address, ident.channel_credentials(), options) as ch:
            try:
                reply = health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.05)
    raise RuntimeError(f"node {node.division} did not start serving on {node.address}")
