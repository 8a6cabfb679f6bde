"""``tongban case``: citizens' cases (办件) from application to evaluation."""

from __future__ import annotations

import getpass

import click

from node import cases, crossregion, workflow
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
    today,
)
from node.store import NodeStore
from node.workdays import date_of_ms

actor_option = click.option(
    "--actor", default=lambda: getpass.getuser(), show_default="login name",
    help="Staff ID of who does this, on the staff register with the action's role "
         "(tongban staff add); recorded in the case history beside the OS login (全过程留痕).",
)


@click.group("case")
def case_group() -> None:
    """Cases (办件): apply, accept, review, decide, conclude, deliver; 好差评 is `evaluation`."""


def _open(home_dir: str | None) -> NodeStore:
    return NodeStore.open(resolve_home(home_dir))


def _print_outcome(outcome: cases.Outcome, as_json: bool = False, quiet: bool = False) -> None:
    case = outcome.case
    if as_json:
        emit_json({"case_no": case.case_no, "state": str(case.state),
                   "warnings": list(outcome.warnings),
                   **({"members": [_member(m) for m in outcome.members]}
                      if outcome.members else {})})
        return
    for warning in outcome.warnings:
        echo(f"warning: {warning}", err=True)
    if quiet:
        echo(case.case_no)
        return
    echo(f"{case.case_no} {workflow.LABELS[case.state]} ({case.state})")
    for member in outcome.members:
        echo(f"  member {member.case_no} {member.matter_code} "
             f"{workflow.LABELS[member.state]} ({member.state})")
    for step in outcome.next_steps:
        echo(f"next: {step}")


quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="Print only the case number (for scripts).")


@case_group.command()
@click.option("--matter", "matter_code", required=True, help="实施编码 of the matter.")
@click.option("--applicant", required=True, help="18-digit resident ID or 18-char USCC.")
@click.option("--name", "applicant_name", required=True, help="Applicant's name.")
@click.option("--channel", type=click.Choice(workflow.CHANNELS), default="window",
              show_default=True)
@click.option("--material", "materials", multiple=True, help="Material handed in (repeat).")
@click.option("--licence", "licences", multiple=True,
              help="免证办: a licence number held here, a licence file or a QR payload, in "
                   "place of the paper material it satisfies (repeat).")
@click.option("--handled-by", "handled_by", default="", metavar="DIVISION",
              help="异地代收代办: the division that handles the matter (on the 跨省通办 list); "
                   "the case is handed over to it with the next sync.")
@click.option("--joint-with", "joint_with", default="", metavar="DIVISION",
              help="多地联办: the other division doing steps of the matter (`case step`).")
@actor_option
@quiet_option
@json_option
@home_option
def apply(matter_code, applicant, applicant_name, channel, materials, licences, handled_by,
          joint_with, actor, quiet, as_json, home_dir) -> None:
    """Register an application (申请); prints the new case number (alone with --quiet).

    With --handled-by the matter is a 跨省通办 list item (its base or implementation code)
    and this window collects the materials the list names for that handler.

    \b
    Example:
      tongban case apply --matter 540102-GG-001 --actor 窗口03 \\
        --applicant 540102199001011233 --name 扎西 --material 居民身份证

    For 代收代办 see `tongban crossregion list --help`.
    """
    outcome = cases.apply(
        _open(home_dir), matter_code=matter_code, applicant=applicant,
        applicant_name=applicant_name, channel=channel, materials=list(materials),
        actor=actor, licences=licences, handled_by=handled_by, joint_with=joint_with,
    )
    _print_outcome(outcome, as_json, quiet)


def _action_command(action: str, summary: str, example: str, *options):
    """One CLI command per workflow action; the options become CaseEvent fields."""

    def command(case_no: str, actor: str, as_json: bool, home_dir: str | None,
                **arguments) -> None:
        fields = {k: v for k, v in arguments.items() if v not in (None, (), "")}
        if "materials" in fields:
            fields["materials"] = list(fields["materials"])
        _print_outcome(cases.act(_open(home_dir), case_no, action, actor=actor, **fields),
                       as_json)

    command.__doc__ = f"{summary}\n\n\b\nExample:\n  {example}"  # click's \b: keep lines
    command = home_option(json_option(actor_option(command)))
    for option in reversed(options):
        command = option(command)
    command = click.argument("case_no")(command)
    return case_group.command(action)(command)


_reason = click.option("--reason", help="Why (required where the law asks for one).")
_action_command(
    "accept", "Accept the case (受理); --missing for 容缺受理, --commit for 告知承诺.",
    "tongban case accept 540102-2026-0000003 --missing 居住证明 --due 5",
    click.option("--missing", "missing_material", multiple=True,
                 help="Material still owed (容缺; repeat for several)."),
    click.option("--due", "due_days", type=int, multiple=True,
                 help="Working days to supply it: once for all owed materials, or once per "
                      "--missing, in order."),
    click.option("--commit", "committed", multiple=True,
                 help="Material accepted on the applicant's written commitment (告知承诺; "
                      "repeat); a 核查 follows the decision."),
    click.option("--material", "materials", multiple=True, help="Material handed in now."),
)
_action_command("reject", "Refuse to accept (不予受理).",
                "tongban case reject 540102-2026-0000003 --reason 不属于本机关职权范围",
                click.option("--reason", required=True))
_action_command("request-supplement",
                "Ask for materials (补正), all in one notice (一次告知); the clock pauses. "
                "Print the notice with `case notice`.",
                "tongban case request-supplement 540102-2026-0000003 --material 居民户口簿",
                click.option("--material", "materials", multiple=True, required=True,
                             help="A material of the matter to supply (repeat)."),
                _reason)
_action_command("supply", "Record materials supplied (补正: the rest stay outstanding; or "
                "settle 容缺 materials).",
                "tongban case supply 540102-2026-0000003 --material 户口簿",
                click.option("--material", "materials", multiple=True))
_action_command("review", "Start review (审查).", "tongban case review 540102-2026-0000003")
_action_command(
    "decide", "Decide (决定): --approve (准予) or --deny (不予) with a reason.",
    "tongban case decide 540102-2026-0000003 --approve",
    click.option("--approve/--deny", "approve", required=True),
    _reason,
)
_action_command("conclude", "Conclude the case (办结).",
                "tongban case conclude 540102-2026-0000003")
_action_command("deliver", "Deliver the result (送达).",
                "tongban case deliver 540102-2026-0000003 --method 窗口领取",
                click.option("--method", required=True, help="e.g. 窗口领取, 邮寄, 电子送达."))
_action_command("withdraw", "Withdraw the application at the applicant's request (撤回).",
                "tongban case withdraw 540102-2026-0000003 --reason 申请人主动撤回", _reason)
_action_command("suspend", "Enter a special procedure (特别程序); the clock pauses.",
                "tongban case suspend 540102-2026-0000003 --reason 现场勘查",
                click.option("--reason", required=True))
_action_command("resume", "Leave the special procedure; the clock runs again.",
                "tongban case resume 540102-2026-0000003")
_action_command("check", "Record the 核查 of a 告知承诺: --kept, or --false with what was found "
                "(revokes the decision and its licence).",
                "tongban case check 540102-2026-0000003 --false --reason 现场核查与承诺不符",
                click.option("--kept/--false", "commitment_kept", required=True,
                             help="The commitment was true (--kept) or false (--false)."),
                _reason)


@case_group.command()
@click.argument("case_no")
@home_option
def notice(case_no: str, home_dir: str | None) -> None:
    """Print the 补正 notice (一次性告知书): every material still to supply, and by when.

    \b
    Example:
      tongban case notice 540102-2026-0000003
    """
    echo(cases.notice(_open(home_dir), case_no), nl=False)


def _member(case: workflow.CaseState) -> dict:
    return {"case_no": case.case_no, "matter_code": case.matter_code, "state": str(case.state),
            "state_label": workflow.LABELS[case.state], "decision": case.decision}


def _case_dict(view: cases.CaseView) -> dict:
    # a shallow copy: the case's lists and dicts are only read, for JSON, and
    # dataclasses.asdict's deep copy was a quarter of a 500-row listing
    data = dict(vars(view.case))
    data["state_label"] = workflow.LABELS[view.case.state]
    data["due"] = view.due.isoformat() if view.due else None
    data["remaining_workdays"] = view.remaining
    data["due_soon"] = view.due_soon
    data["overdue"] = view.overdue
    data["late"] = view.late
    data["owed_due"] = {name: date_of_ms(due).isoformat() for name, due in view.case.owed.items()}
    data["check_due"] = (date_of_ms(view.case.check_due_ms).isoformat()
                         if view.case.check_due_ms is not None else None)
    return data


@case_group.command()
@click.argument("case_no")
@click.option("--history", is_flag=True, help="Also show every event (全过程留痕).")
@json_option
@home_option
def show(case_no: str, history: bool, as_json: bool, home_dir: str | None) -> None:
    """Show one case, its deadline and the actions allowed next.

    \b
    Example:
      tongban case show 540102-2026-0000003 --history
    """
    store = _open(home_dir)
    view = cases.view(store, case_no, today())
    events = cases.history(store, case_no) if history else []
    data = _case_dict(view)
    data["allowed_actions"] = workflow.allowed_actions(view.case)
    crossing = crossregion.case_view(store, case_no, today())
    if crossing:
        data["cross_region"] = crossing
        data["due"] = crossing["due"]
    if view.case.theme:
        data["members"] = [_member(m) for m in cases.members(store, case_no)]
    if as_json:
        if history:
            data["history"] = events
        emit_json(data)
        return
    for key in ("case_no", "state_label", "matter_code", "matter_version", "theme_case",
                "applicant_name", "applicant_id", "channel", "materials", "owed_due",
                "requested", "supplement_rounds", "committed", "check_due", "check_result",
                "decision", "reason", "due", "remaining_workdays", "late", "score",
                "allowed_actions"):
        value = data.get(key)
        if value not in (None, [], "", {}, 0):
            echo(f"{key:20} {value}")
    for key, value in (crossing or {}).items():
        if value not in (None, [], "", False) and key not in (
                "case_no", "state", "state_label", "applicant_name", "due", "matter_code"):
            shown = format_ms(value) if key.endswith("_ms") else value
            echo(f"{key:20} {shown}")
    for member in data.get("members", []):
        echo(f"{'member':20} {member['case_no']} {member['matter_code']} "
             f"{member['state_label']} ({member['state']})")
    if events:
        echo(table(["time", "node", "action", "actor", "login", "state", "details"],
                   [(format_ms(e["at_ms"]), e["origin"], e["action"], e["actor"],
                     e["os_login"] or "-", e["state"],
                     " ".join(f"{k}={v}" for k, v in e["details"].items()))
                    for e in events]))


@case_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in workflow.State]))
@click.option("--due-soon", is_flag=True,
              help=f"Only cases with {workflow.DUE_SOON_DAYS} working days or fewer left.")
@click.option("--overdue", is_flag=True, help="Only overdue cases.")
@click.option("--limit", type=click.IntRange(1), default=500, show_default=True,
              help="At most this many cases (one page).")
@click.option("--after", "after", metavar="CASE_NO", default=None,
              help="Start after this case number: the last one of the previous page.")
@click.option("--incoming", "cross", flag_value="incoming",
              help="Only cases handed over to this node by another (代收代办, 多地联办).")
@click.option("--outgoing", "cross", flag_value="outgoing",
              help="Only cases this node received and handed over to another.")
@click.option("--waiting-handover", "cross", flag_value="waiting-handover",
              help="Only hand-overs the handler has not answered yet (here or below).")
@json_option
@home_option
def list_(state, due_soon, overdue, limit, after, cross, as_json, home_dir) -> None:
    """List cases with their deadlines (working days, official calendar), by case number.

    \b
    Example:
      tongban case list --due-soon --limit 20
      tongban case list --outgoing --json
    """
    if cross:
        _list_cross(cross, as_json, home_dir)
        return
    page = cases.listing(_open(home_dir), today(), state=state, due_soon=due_soon,
                         overdue=overdue, limit=limit, after=after)
    views = page.views
    if as_json:
        emit_json([_case_dict(v) for v in views])
        return
    rows = []
    for v in views:
        flag = ("OVERDUE " + ", ".join(v.late)).strip() if v.overdue else (
            "due soon" if v.due_soon else "")
        rows.append((v.case.case_no, workflow.LABELS[v.case.state], v.case.applicant_name,
                     v.case.matter_code, v.due or "-",
                     "-" if v.remaining is None else v.remaining, flag))
    echo(table(["case", "state", "applicant", "matter", "due", "days left", ""], rows))
    more = f"; more: --after {views[-1].case.case_no}" if page.more else ""
    echo(f"{len(views)} cases{more}")


def _list_cross(which: str, as_json: bool, home_dir: str | None) -> None:
    rows = crossregion.listing(_open(home_dir), today(), which)
    if as_json:
        emit_json(rows)
        return
    echo(table(["case", "kind", "state", "receiver", "other", "submitted", "arrived",
                "accepted", "due", "answer due"],
               [(r["case_no"], r["kind"], r["state_label"], r["receiver"],
                 r.get("handler") or r.get("partner"), format_ms(r["submitted_ms"]),
                 format_ms(r["arrived_ms"]) if r["arrived_ms"] else "-",
                 format_ms(r["accepted_ms"]) if r["accepted_ms"] else "-", r["due"] or "-",
                 (r["answer_due"] + (" LATE" if r["answer_late"] else ""))
                 if r["answer_due"] else "-") for r in rows]))
    echo(f"{len(rows)} cases")


@case_group.command("step")
@click.argument("case_no")
@click.option("--text", default="", help="What was done (e.g. 准予迁入, 已迁出).")
@actor_option
@json_option
@home_option
def step(case_no: str, text: str, actor: str, as_json: bool, home_dir: str | None) -> None:
    """Record this node's next step of a 多地联办 case (e.g. 户口迁移: 准迁, 迁出, 落户).

    \b
    Example:
      tongban case step 540121-2026-0000012 --text 准予迁入
    """
    done = crossregion.record_step(_open(home_dir), case_no, actor=actor, text=text)
    if as_json:
        emit_json(done)
        return
    rest = ", ".join(done["remaining"]) or "none: the case may be concluded"
    echo(f"{case_no} step {done['index'] + 1} {done['step']} by {done['by']}; still to do: {rest}")
