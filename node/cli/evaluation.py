"""``tongban evaluation``: 好差评 as the applicant gave it, and the 差评 follow-up loop."""

from __future__ import annotations

import getpass

import click

from node import evaluation
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.store import NodeStore


@click.group("evaluation")
def evaluation_group() -> None:
    """好差评: record evaluations, list them, follow up every 差评."""


@evaluation_group.command("add")
@click.argument("case_no")
@click.option("--level", required=True,
              help="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (number or name).")
@click.option("--via", type=click.Choice(list(evaluation.VIA)), required=True,
              help="How the applicant evaluated: a channel, or a paper card typed in here.")
@click.option("--evaluator", default="", help="ID or credit code of who evaluated "
              "(default: the case's applicant).")
@click.option("--entered-by", default="", help="Staff who typed in a paper card.")
@click.option("--comment", default="")
@json_option
@home_option
def add(case_no: str, level: str, via: str, evaluator: str, entered_by: str, comment: str,
        as_json: bool, home_dir: str | None) -> None:
    """Record the applicant's evaluation of a case (one per case per evaluator).

    \b
    Example:
      tongban evaluation add 540102-2026-0000025 --level 非常满意 --via mobile
      tongban evaluation add 540102-2026-0000025 --level 2 --via paper-card --entered-by 窗口03
    """
    store = NodeStore.open(resolve_home(home_dir))
    parsed = evaluation.parse_level(level)
    record_id = evaluation.record(store, case_no, level=parsed, via=via,
                                  evaluator=evaluator, entered_by=entered_by, comment=comment)
    if as_json:
        emit_json({"evaluation": record_id, "case_no": case_no, "level": parsed, "via": via})
        return
    echo(f"evaluation {record_id} of {case_no}")


@evaluation_group.command("list")
@click.option("--poor", is_flag=True, help="Only 差评, with their follow-up steps.")
@click.option("--subtree", is_flag=True, help="Every node below this one too.")
@json_option
@home_option
def list_(poor: bool, subtree: bool, as_json: bool, home_dir: str | None) -> None:
    """Evaluations, or the 差评 loops with what is done and what is due.

    \b
    Example:
      tongban evaluation list --poor --subtree
    """
    store = NodeStore.open(resolve_home(home_dir))
    if poor:
        loops = evaluation.loops(store, subtree=subtree)
        if as_json:
            emit_json([loop.to_dict() for loop in loops])
            return
        echo(table(
            ["id", "case", "level", "evaluated", *evaluation.STEP_LABELS.values()],
            [(lp.evaluation_id, lp.case_no, lp.level, lp.evaluated_on,
              *(lp.done.get(s) or f"due {lp.due[s]}" for s in evaluation.STEP_LABELS))
             for lp in loops]))
        return
    rows = evaluation.evaluations(store, subtree=subtree)
    if as_json:
        emit_json(rows)
        return
    echo(table(["id", "case", "level", "by", "channel", "evaluator", "time", "comment"],
                     [(r["id"], r["case_no"], r["label"], r["evaluator_kind"], r["channel"],
                       r["evaluator"], format_ms(r["at_ms"]), r["comment"]) for r in rows]))


@evaluation_group.command("follow-up")
@click.argument("evaluation_id")
@click.option("--step", type=click.Choice(list(evaluation.STEP_LABELS)), required=True,
              help="verify 回访核实, rectify 整改, feedback 反馈 (in this order).")
@click.option("--text", required=True, help="What was found or done.")
@click.option("--actor", default=lambda: getpass.getuser(), show_default="login name")
@json_option
@home_option
def follow_up(evaluation_id: str, step: str, text: str, actor: str, as_json: bool,
              home_dir: str | None) -> None:
    """Record one step of a 差评's closed loop.

    \b
    Example:
      tongban evaluation follow-up 540102#40 --step verify --text 电话回访，情况属实
    """
    store = NodeStore.open(resolve_home(home_dir))
    record_id = evaluation.follow_up(store, evaluation_id, step, text, actor)
    if as_json:
        emit_json({"follow_up": record_id, "evaluation": evaluation_id, "step": step})
        return
    echo(f"{evaluation.STEP_LABELS[step]} {record_id} for 差评 {evaluation_id}")
