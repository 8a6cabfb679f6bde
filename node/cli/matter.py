"""``tongban matter``: the service catalogue (事项目录)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click
from google.protobuf.json_format import MessageToDict

from node import base_catalogue, base_check, change_requests, matters
from node.catalogue_file import load_file, sample_catalogue
from node.catalogue_schema import ISSUED_BY_GOVERNMENT
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, table
from node.store import NodeStore


@click.group("matter")
def matter_group() -> None:
    """Service catalogue items (事项): import, add, list, show, retire; the base catalogue
    (基本目录) and 四级四同 check; change requests (会签): propose, requests, approve, deny."""


def _report(results: list[matters.PublishResult], as_json: bool) -> None:
    if as_json:
        emit_json([asdict(r) for r in results])
        return
    for r in results:
        echo(f"{r.status:9} {r.code} v{r.version}")
    changed = sum(1 for r in results if r.status != "unchanged")
    echo(f"{changed} published, {len(results) - changed} unchanged")


@matter_group.command("import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--sample", is_flag=True, help="Import the bundled sample county catalogue, "
              "with codes in this node's namespace.")
@json_option
@home_option
def import_(file: str | None, sample: bool, as_json: bool, home_dir: str | None) -> None:
    """Import items from a JSON or TOML file; changed items get a new version.

    All items are checked first: one bad item refuses the whole file.

    \b
    Example:
      tongban matter import catalogue.toml
      tongban matter import --sample
    """
    if bool(file) == sample:
        raise click.UsageError("give a FILE or --sample (one of them)")
    store = NodeStore.open(resolve_home(home_dir))
    items = sample_catalogue(store.division) if sample or file is None else load_file(file)
    _report(matters.publish(store, items), as_json)


@matter_group.command("add")
@click.option("--impl-code", required=True, help="实施编码.")
@click.option("--base-code", required=True, help="基本编码.")
@click.option("--name", required=True)
@click.option("--type", "type_", required=True, help="e.g. 行政许可, 公共服务.")
@click.option("--level", default="县级", show_default=True)
@click.option("--body-name", required=True, help="Implementing body.")
@click.option("--body-uscc", required=True, help="Implementing body's credit code.")
@click.option("--legal-basis", required=True)
@click.option("--legal-limit", type=int, required=True, help="Legal limit, working days.")
@click.option("--promised-limit", type=int, required=True, help="Promised limit, working days.")
@click.option("--material", "materials", multiple=True,
              help="NAME[:optional][:deferrable] — repeat for each material.")
@click.option("--service-object", default="自然人", show_default=True)
@click.option("--scope", default="县内通办", show_default=True, help="通办范围.")
@click.option("--fees", default="不收费", show_default=True)
@click.option("--conditions", required=True, help="受理条件.")
@click.option("--step", "steps", multiple=True, help="Process step (repeat; default "
              "受理, 审查, 决定, 送达).")
@click.option("--handling-form", default="窗口办理", show_default=True)
@click.option("--online-depth", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option("--fee-basis", default="", help="收费依据 (required when --fees charges).")
@click.option("--review-criteria", default="", help="审查标准.")
@click.option("--result-name", default="", help="办理结果, e.g. 准予许可决定书.")
@click.option("--result-sample", default="", help="结果样本: file name or address.")
@click.option("--main-item", default="", help="主项名称 (default the name).")
@click.option("--sub-item", default="", help="子项名称.")
@click.option("--local", is_flag=True, help="地方特色事项: no base item.")
@click.option("--situation", "situations", multiple=True,
              help="办理情形 NAME=MATERIAL,MATERIAL[:DAYS] — repeat for each situation.")
@json_option
@home_option
def add(impl_code, base_code, name, type_, level, body_name, body_uscc, legal_basis,
        legal_limit, promised_limit, materials, service_object, scope, fees, conditions,
        steps, handling_form, online_depth, fee_basis, review_criteria, result_name,
        result_sample, main_item, sub_item, local, situations, as_json, home_dir) -> None:
    """Add one item (or a new version of it) from the command line.

    \b
    Example:
      tongban matter add --impl-code 540102-GG-101 \\
        --base-code 000117001000 --name 居住证核发 --type 公共服务 \\
        --body-name 拉萨市公安局城关分局 --body-uscc 11540102015712342L \\
        --legal-basis 《居住证暂行条例》 --legal-limit 15 --promised-limit 5 \\
        --conditions 在城关区居住半年以上 \\
        --material 居民身份证:gov=公安机关 --material 居住证明:deferrable \\
        --situation 首次申领=居民身份证,居住证明
    """
    item = {
        "impl_code": impl_code, "base_code": base_code, "name": name, "type": type_,
        "level": level, "body_name": body_name, "body_uscc": body_uscc,
        "legal_basis": legal_basis, "legal_limit_days": legal_limit,
        "promised_limit_days": promised_limit, "service_object": service_object,
        "scope": scope, "fees": fees, "materials": [_material(m) for m in materials],
        "conditions": conditions, "steps": list(steps) or ["受理", "审查", "决定", "送达"],
        "handling_form": handling_form, "online_depth": online_depth,
        "fee_basis": fee_basis, "review_criteria": review_criteria,
        "result_sample": result_sample, "sub_item": sub_item, "local": local,
        "situations": [_situation(spec) for spec in situations],
        **({"result_name": result_name} if result_name else {}),
        **({"main_item": main_item} if main_item else {}),
    }
    store = NodeStore.open(resolve_home(home_dir))
    _report(matters.publish(store, [item]), as_json)


def _material(spec: str) -> dict:
    """NAME[:optional][:deferrable][:gov=ISSUER]: gov= marks a material 政府部门核发."""
    name, *flags = spec.split(":")
    issuers = [flag[4:] for flag in flags if flag.startswith("gov=")]
    unknown = set(flags) - {"optional", "deferrable"} - {f"gov={i}" for i in issuers}
    if unknown:
        raise click.BadParameter(f"material {spec!r}: unknown flag {', '.join(sorted(unknown))}")
    material = {"name": name, "required": "optional" not in flags,
                "deferrable": "deferrable" in flags}
    if issuers:
        material.update(source=ISSUED_BY_GOVERNMENT, issuer=issuers[-1])
    return material


def _situation(spec: str) -> dict:
    """NAME=MATERIAL,MATERIAL[:DAYS]."""
    name, equals, rest = spec.partition("=")
    names, colon, days = rest.partition(":")
    if not equals or not name.strip() or not names.strip() or (colon and not days.isdigit()):
        raise click.BadParameter(f"situation {spec!r}: want NAME=MATERIAL,MATERIAL[:DAYS]")
    situation: dict = {"name": name, "materials": names.split(",")}
    if colon:
        situation["promised_limit_days"] = int(days)
    return situation


@matter_group.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Include retired items.")
@json_option
@home_option
def list_(include_retired: bool, as_json: bool, home_dir: str | None) -> None:
    """List catalogue items (newest version of each).

    \b
    Example:
      tongban matter list --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    items = matters.list_matters(store.db, include_retired)
    if as_json:
        emit_json(items)
        return
    rows = [(m["code"], f"v{m['version']}", m["publisher"], m["name"], m["type"],
             f"{m['promised_limit_days']}/{m['legal_limit_days']}",
             "retired" if m["retired"] else "") for m in items]
    echo(table(["code", "ver", "publisher", "name", "type", "promised/legal days", ""],
               rows))


@matter_group.command("show")
@click.argument("code")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="A given version (default newest).")
@json_option
@home_option
def show(code: str, version: int | None, as_json: bool, home_dir: str | None) -> None:
    """Show every element of one item and who published it.

    \b
    Example:
      tongban matter show 540102-GG-001
    """
    store = NodeStore.open(resolve_home(home_dir))
    matter = matters.current_matter(store.db, code, version, allow_retired=True)
    data = {"publisher": matters.publisher(store.db, code),
            **MessageToDict(matter, preserving_proto_field_name=True)}
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = json.dumps(value, ensure_ascii=False)
        echo(f"{key:20} {value}")


@matter_group.command("retire")
@click.argument("code")
@click.option("--reason", required=True)
@json_option
@home_option
def retire(code: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Retire an item: it takes no new cases; open cases continue.

    \b
    Example:
      tongban matter retire 540102-GG-001 --reason 事项取消
    """
    store = NodeStore.open(resolve_home(home_dir))
    matter = matters.retire(store, code, reason)
    if as_json:
        emit_json({"code": code, "version": matter.version, "name": matter.name,
                   "reason": reason})
        return
    echo(f"retired {code} v{matter.version} {matter.name}")


@matter_group.command("check")
@click.option("--subtree", is_flag=True, help="Every node of this node's subtree, not only "
              "this node's own items.")
@json_option
@home_option
def check(subtree: bool, as_json: bool, home_dir: str | None) -> None:
    """四级四同: list items whose code, name, type, legal basis or level differ from their
    base item (基本目录); exit 1 when there are any.

    \b
    Example:
      tongban matter check --subtree
    """
    store = NodeStore.open(resolve_home(home_dir))
    found = base_check.check(store.db, store.division, subtree=subtree)
    held = base_check.holds_base_catalogue(store.db)
    if as_json:
        emit_json({"base_catalogue_held": held, "deviations": [d.to_dict() for d in found]})
    elif not held:
        echo("no base catalogue held here: nothing to compare (it arrives with the national "
             "or province log at the next sync)")
    else:
        for d in found:
            echo(f"{d.publisher} {d.line()}")
        echo(f"{len(found)} deviation{'s' if len(found) != 1 else ''}")
    if found:
        sys.exit(1)


@matter_group.group("base")
def base_group() -> None:
    """The base catalogue (基本目录): published by the national node and provinces."""


@base_group.command("publish")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--sample", is_flag=True, help="Publish the base items behind the shipped "
              "sample list.")
@json_option
@home_option
def base_publish(file: str | None, sample: bool, as_json: bool, home_dir: str | None) -> None:
    """Publish base items from a file of [[base]] tables (docs/catalogue.md); changed
    items get a new version. National and province nodes only.

    \b
    Example:
      tongban matter base publish --sample
    """
    if bool(file) == sample:
        raise click.UsageError("give a FILE or --sample (one of them)")
    store = NodeStore.open(resolve_home(home_dir))
    items = base_catalogue.sample_base() if file is None else base_catalogue.load_base_file(file)
    results = base_catalogue.publish(store, items)
    _report([matters.PublishResult(code, version, status) for code, version, status in results],
            as_json)


@base_group.command("list")
@json_option
@home_option
def base_list(as_json: bool, home_dir: str | None) -> None:
    """List the base items held (newest version of each, by publisher).

    \b
    Example:
      tongban matter base list --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    items = base_check.listed(store.db)
    if as_json:
        emit_json([asdict(b) for b in items])
        return
    echo(table(["base code", "ver", "publisher", "name", "type", "levels", ""],
               [(b.base_code, f"v{b.version}", b.origin, b.name, b.type, ",".join(b.levels),
                 "retired" if b.retired else "") for b in items]))


@base_group.command("retire")
@click.argument("code")
@click.option("--reason", required=True)
@json_option
@home_option
def base_retire(code: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Retire one of this node's base items (a new version marked retired).

    \b
    Example:
      tongban matter base retire XK00101000 --reason 事项取消
    """
    store = NodeStore.open(resolve_home(home_dir))
    body = base_catalogue.retire(store, code, reason)
    if as_json:
        emit_json({"base_code": code, "version": body.version, "reason": body.reason})
        return
    echo(f"retired base item {code} v{body.version}")


@matter_group.command("propose")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--retire", "retire_code", default=None, metavar="CODE",
              help="Propose retiring base item CODE (or this node's local item CODE).")
@click.option("--reason", default="", help="Why (required with --retire).")
@json_option
@home_option
def propose(file: str | None, retire_code: str | None, reason: str, as_json: bool,
            home_dir: str | None) -> None:
    """Send a change request (会签) for the base elements of the items in FILE, to the
    owner of their base item (or the parent, for local items); it goes with the next sync.

    \b
    Example:
      tongban matter propose catalogue.toml --reason 名称按新规调整
      tongban matter propose --retire XK00101000 --reason 事项取消
    """
    if bool(file) == bool(retire_code):
        raise click.UsageError("give a FILE or --retire CODE (one of them)")
    store = NodeStore.open(resolve_home(home_dir))
    if retire_code:
        sent = [change_requests.propose_retire(store, retire_code, reason)]
    else:
        items = load_file(file or "")
        if not items:
            raise click.UsageError(f"{file} holds no items")
        sent = [change_requests.propose_item(store, item, reason) for item in items]
    if as_json:
        emit_json([{"id": request_id, "recipient": recipient} for request_id, recipient in sent])
        return
    for request_id, recipient in sent:
        echo(f"sent change request {request_id} to {recipient}")


def _requests_out(requests: list[change_requests.Request], as_json: bool) -> None:
    if as_json:
        emit_json([r.to_dict() for r in requests])
        return
    echo(table(["id", "from", "to", "base code", "what", "item", "status", "reason / answer"],
               [(r.id, r.origin, r.recipient, r.base_code, "retire" if r.retire else "change",
                 r.impl_code, r.status + (f" v{r.base_version}" if r.base_version else ""),
                 r.answer_reason or r.reason) for r in requests]))


@matter_group.command("requests")
@json_option
@home_option
def requests(as_json: bool, home_dir: str | None) -> None:
    """Change requests addressed to this node and those it sent, with their status.

    \b
    Example:
      tongban matter requests --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    _requests_out(change_requests.listed(store), as_json)


@matter_group.command("approve")
@click.argument("request_id", metavar="ID")
@click.option("--reason", default="", help="A note for the proposer.")
@json_option
@home_option
def approve(request_id: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Approve a change request addressed here: publish the new base item version and
    answer the proposer (one write; both flow down).

    \b
    Example:
      tongban matter approve 540102#57
    """
    store = NodeStore.open(resolve_home(home_dir))
    _requests_out([change_requests.approve(store, request_id, reason)], as_json)


@matter_group.command("deny")
@click.argument("request_id", metavar="ID")
@click.option("--reason", required=True, help="Why (the proposer reads it).")
@json_option
@home_option
def deny(request_id: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Deny a change request addressed here, with the reason the proposer will see.

    \b
    Example:
      tongban matter deny 540102#57 --reason 名称以国家目录为准
    """
    store = NodeStore.open(resolve_home(home_dir))
    _requests_out([change_requests.deny(store, request_id, reason)], as_json)
