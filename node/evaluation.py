"""好差评: evaluations of a case's service, and the closed loop every 差评 opens.

国办发〔2019〕51号 sets five levels (非常满意, 满意, 基本满意, 不满意, 非常不满意),
says who evaluates (the person served, through the channel they used or on a
paper card at the window) and asks that every 差评 (不满意, 非常不满意) be
回访核实, 整改 and 反馈 — with 实名差评回访整改率 as the measure. All of it is
written by the case's owning node (node.authority): the applicant's
evaluation arrives there through a channel, and the follow-up is the owner's
work. The rules for one evaluation are node.workflow.check_evaluation.

Step limits are working days from the day of the evaluation, one per step;
provinces set their own, so they live in ``[evaluation]`` in tongban.toml.
The defaults (回访核实 1, 整改 15, 反馈 15) are the figures provinces commonly
adopted under 51号; check them against your province's rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from node import workflow
from node.authority import case_owner
from node.config_schema import Config
from node.lights import Clock, clock
from node.projection import FOLLOW_UP_STEPS, Calendars, load_case
from node.scope import in_scope
from node.store import Draft, NodeStore
from node.workdays import date_of_ms
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

STEP_LABELS = {"verify": "回访核实", "rectify": "整改", "feedback": "反馈"}
#: evaluator choice on the command line → (evaluator kind, channel)
VIA = {"self-service": ("applicant", "self-service"), "online": ("applicant", "online"),
       "mobile": ("applicant", "mobile"), "sms": ("applicant", "sms"),
       "paper-card": ("paper-card", "window")}


class EvaluationError(InputError):
    pass


@dataclass(frozen=True)
class FollowUpLimits:
    """Working days from the evaluation to each step of the 差评 loop."""

    verify: int = 1
    rectify: int = 15
    feedback: int = 15

    @classmethod
    def from_config(cls, config: Config) -> FollowUpLimits:
        return cls(verify=config.evaluation_verify, rectify=config.evaluation_rectify,
                   feedback=config.evaluation_feedback)


def parse_level(text: str) -> int:
    """A level given as 1–5 or by its name (非常满意 …)."""
    names = {name: number for number, name in workflow.EVALUATION_LEVELS.items()}
    if text.strip() in names:
        return names[text.strip()]
    if text.strip().isdigit() and int(text) in workflow.EVALUATION_LEVELS:
        return int(text)
    choices = ", ".join(f"{n} {name}" for n, name in workflow.EVALUATION_LEVELS.items())
    raise EvaluationError(f"bad level {text!r}: want one of {choices}")


def record(store: NodeStore, case_no: str, *, level: int, via: str, evaluator: str = "",
           entered_by: str = "", comment: str = "") -> str:
    """Write one evaluation of a case this node owns; returns its id (origin#seq).

    ``evaluator`` defaults to the case's applicant; a paper card needs ``entered_by``.
    """
    if via not in VIA:
        raise EvaluationError(f"bad --via {via!r}: want one of {', '.join(VIA)}")
    case = load_case(store.db, case_no)
    if case is None:
        raise EvaluationError(f"no case {case_no} on this node")
    kind, channel = VIA[via]
    body = record_pb2.Evaluation(case_no=case_no, level=level, evaluator_kind=kind,
                                 channel=channel, evaluator=evaluator or case.applicant_id,
                                 entered_by=entered_by, comment=comment)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.EVALUATION, lambda _s, _h: data)])
    return f"{store.division}#{store.log.size(store.division) - 1}"


@dataclass
class Loop:
    """One 差评 and how far its follow-up has come."""

    evaluation_id: str
    case_no: str
    owner: str
    level: int
    evaluated_on: str
    comment: str | None
    done: dict[str, str] = field(default_factory=dict)   # step → ISO date recorded
    due: dict[str, str] = field(default_factory=dict)    # step → ISO due date

    @property
    def closed(self) -> bool:
        return all(step in self.done for step in FOLLOW_UP_STEPS)

    def to_dict(self) -> dict:
        return {**vars(self), "closed": self.closed}


def loops(store: NodeStore, *, subtree: bool = True) -> list[Loop]:
    """Every 差评 in scope with its follow-up steps, oldest first."""
    calendars = Calendars(store.db)
    limits = FollowUpLimits.from_config(store.config)
    poor = ", ".join(str(level) for level in workflow.POOR_LEVELS)
    found: dict[str, Loop] = {}
    for origin, seq, case_no, level, at_ms, comment in store.db.execute(
            "SELECT origin, seq, case_no, level, at_ms, comment FROM evaluations"
            f" WHERE level IN ({poor}) ORDER BY at_ms, origin, seq"):
        owner = case_owner(case_no)
        if not in_scope(store.division, owner, subtree):
            continue
        day = date_of_ms(at_ms)
        calendar = calendars(owner)  # the owner's follow-up counts on the owner's calendar
        due = {step: calendar.add_workdays(day, getattr(limits, step)).isoformat()
               for step in FOLLOW_UP_STEPS}
        found[f"{origin}#{seq}"] = Loop(f"{origin}#{seq}", case_no, owner, level,
                                        day.isoformat(), comment, {}, due)
    for origin, seq, step, at_ms in store.db.execute(
            "SELECT evaluation_origin, evaluation_seq, step, min(at_ms) FROM"
            " evaluation_follow_ups GROUP BY evaluation_origin, evaluation_seq, step"):
        loop = found.get(f"{origin}#{seq}")
        if loop is not None:
            loop.done[step] = date_of_ms(at_ms).isoformat()
    return list(found.values())


def follow_up_clocks(store: NodeStore, today: date, *,
                     subtree: bool) -> list[tuple[str, Clock]]:
    """(case number, clock) for the next open step of every 差评 loop in scope."""
    calendars = Calendars(store.db)
    out = []
    for loop in loops(store, subtree=subtree):
        step = next((s for s in FOLLOW_UP_STEPS if s not in loop.done), None)
        if step is not None:
            out.append((loop.case_no, clock(f"差评{STEP_LABELS[step]}",
                                            date.fromisoformat(loop.due[step]), today,
                                            calendars(loop.owner), loop.evaluation_id)))
    return out


def follow_up(store: NodeStore, evaluation_id: str, step: str, text: str, actor: str) -> str:
    """Record one step of a 差评's loop, in order; returns the record's id."""
    if step not in FOLLOW_UP_STEPS:
        raise EvaluationError(f"bad step {step!r}: want one of {', '.join(FOLLOW_UP_STEPS)}")
    if not text.strip():
        raise EvaluationError(f"{STEP_LABELS[step]} needs a text saying what was done")
    loop = {lp.evaluation_id: lp for lp in loops(store, subtree=False)}.get(evaluation_id)
    if loop is None or loop.owner != store.division:
        raise EvaluationError(f"no 差评 {evaluation_id} about a case of {store.division}; "
                              "see tongban evaluation list")
    if step in loop.done:
        raise EvaluationError(f"{STEP_LABELS[step]} of {evaluation_id} was recorded on "
                              f"{loop.done[step]}")
    earlier = FOLLOW_UP_STEPS[:FOLLOW_UP_STEPS.index(step)]
    missing = [STEP_LABELS[s] for s in earlier if s not in loop.done]
    if missing:
        raise EvaluationError(f"{evaluation_id}: record {', '.join(missing)} before "
                              f"{STEP_LABELS[step]}")
    origin, seq = evaluation_id.split("#")
    body = record_pb2.EvaluationFollowUp(evaluation_origin=origin, evaluation_seq=int(seq),
                                         case_no=loop.case_no, step=step, text=text,
                                         actor=actor)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.EVALUATION_FOLLOW_UP, lambda _s, _h: data)])
    return f"{store.division}#{store.log.size(store.division) - 1}"


def evaluations(store: NodeStore, *, subtree: bool = True) -> list[dict]:
    """Every evaluation in scope, as rows for listing."""
    rows = []
    for (origin, seq, case_no, level, kind, channel, evaluator, entered_by, comment,
         at_ms) in store.db.execute(
            "SELECT origin, seq, case_no, level, evaluator_kind, channel, evaluator,"
            " entered_by, comment, at_ms FROM evaluations ORDER BY at_ms, origin, seq"):
        owner = case_owner(case_no)
        if in_scope(store.division, owner, subtree):
            rows.append({"id": f"{origin}#{seq}", "case_no": case_no, "level": level,
                         "label": workflow.EVALUATION_LEVELS.get(level, "?"),
                         "evaluator_kind": kind, "channel": channel, "evaluator": evaluator,
                         "entered_by": entered_by, "comment": comment, "at_ms": at_ms})
    return rows
