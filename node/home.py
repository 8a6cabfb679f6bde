"""The node home: one folder holding config, database, keys and certificates.

Every command finds its home the same way (``--home``, else ``$TONGBAN_HOME``,
else ``./tongban-home``) so that a county administrator never has to pass paths.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from pki.division import level, validate
from pki.errors import EnvironmentProblem, MalformedError

DEFAULT_HOME = "tongban-home"
HOME_ENV = "TONGBAN_HOME"


@dataclass
class Config:
    division: str
    name: str
    parent_address: str = ""
    listen_address: str = "127.0.0.1:7443"
    #: ``[link] deadline_scale``: multiplies the uplink's call deadlines (sync.pacer). Raise
    #: it for links slower than 32 kbit/s; tests on loopback lower it. Written only when set.
    deadline_scale: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def level(self) -> str:
        return str(level(self.division))

    def to_toml(self) -> str:
        node = {
            "division": self.division,
            "name": self.name,
            "parent_address": self.parent_address,
            "listen_address": self.listen_address,
        }
        link = {"link": {"deadline_scale": self.deadline_scale}} if (
            self.deadline_scale != 1.0) else {}
        return tomli_w.dumps({"node": node, **link, **self.extra})


@dataclass(frozen=True)
class Home:
    path: Path

    @classmethod
    def locate(cls, explicit: str | os.PathLike | None = None) -> Home:
        chosen = explicit or os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).absolute())

    @property
    def config_path(self) -> Path:
        return self.path / "tongban.toml"

    @property
    def db_path(self) -> Path:
        return self.path / "node.db"

    @property
    def key_path(self) -> Path:
        """The node's current private key (mode 0600)."""
        return self.path / "node.key"

    @property
    def old_keys_dir(self) -> Path:
        """Retired keys after ``pki rotate``, kept so old signatures stay explainable."""
        return self.path / "old-keys"

    @property
    def csr_path(self) -> Path:
        return self.path / "node.csr"

    @property
    def cert_path(self) -> Path:
        return self.path / "node.crt"

    @property
    def chain_path(self) -> Path:
        """Issuer certificates above the node's own, nearest first, ending at the root."""
        return self.path / "chain.pem"

    @property
    def root_cert_path(self) -> Path:
        return self.path / "root.crt"

    def exists(self) -> bool:
        return self.config_path.exists()

    def load_config(self) -> Config:
        if not self.config_path.exists():
            raise EnvironmentProblem(
                f"no tongban node at {self.path}: run 'tongban init' or pass --home"
            )
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise MalformedError(f"config {self.config_path}", str(exc)) from exc
        node = data.pop("node", None)
        if not isinstance(node, dict) or "division" not in node or "name" not in node:
            raise MalformedError(f"config {self.config_path}", "missing [node] division or name")
        link = data.pop("link", {})
        scale = link.get("deadline_scale", 1.0) if isinstance(link, dict) else None
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not (
                0 < scale < float("inf")):
            raise MalformedError(f"config {self.config_path}",
                                 f"[link] deadline_scale got {scale!r}, want a number > 0")
        return Config(
            division=validate(str(node["division"])),
            name=str(node["name"]),
            parent_address=str(node.get("parent_address", "")),
            listen_address=str(node.get("listen_address", "127.0.0.1:7443")),
            deadline_scale=float(scale),
            extra=data,
        )

    def save_config(self, config: Config) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(config.to_toml())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.config_path)
