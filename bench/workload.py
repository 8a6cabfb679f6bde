"""The one realistic workload every bench runs on: counties' case logs as a year makes them.

Synthetic events that all carry the same applicant, name, materials and actor
compress 14:1 and flatter every figure that depends on bytes (wire, storage,
audit). This generator makes what a window in Tibet or Xinjiang writes:

- applicants with Tibetan, Uyghur and Han names in the proportions of the
  county's region, resident ID numbers with a real GB/T 2260 address code
  (mostly the county's own, some from elsewhere: people move), a plausible
  birth date and the GB 11643 check digit; legal persons (matters whose
  service object is 法人) with a GB 32100 credit code of the county;
- materials from the matter in the sample catalogue (required ones, optional
  ones now and then, the deferrable one owed under 容缺), actors who are staff
  of the matter's implementing body, channels as counties see them;
- the real mix of paths: most cases 申请 → 受理 → 审查 → 决定 → 办结 → 送达;
  容缺受理 with a later supply, 补正, 不予受理, 特别程序 (suspend, resume), 撤回,
  denied decisions, and 好差评 evaluations on a third of concluded cases;
- applications spread over the year up to ``until``; the last weeks' cases are
  still open at various steps, so deadline lights and overdue lists have work;
- what the authority rules ask of a real log: each actor registered on the
  county's staff register (STAFF_REGISTERED, just before their first action),
  the reviewer of a case not also its decider, and every case numbered by the
  log position of its application (``case_number``), so the events are only
  valid from the ``first_seq`` they were generated for.

Everything is drawn from one seeded ``random.Random``: the same arguments give
the same bytes. ``WORKLOAD`` names this generator in every results file.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import ric, uscc

from node import clock
from node.authority import ROLE_FOR_ACTION
from node.matters import current_matter, list_matters
from node.store import Draft, NodeStore
from node.workdays import date_of_ms, ms_of_date
from pki.division import listed
from protos.tongban.v1 import record_pb2
from sync.records import build_record

WORKLOAD = ("bench.workload realistic-v2 (varied names/IDs/USCCs, sample catalogue, real path "
            "mix, staff registered, cases numbered by log position)")

HOUR = 3_600_000
DAY = 24 * HOUR

TIBETAN = ("扎西", "次仁", "卓玛", "格桑", "德吉", "旦增", "米玛", "索朗", "尼玛", "拉巴", "普布",
           "边巴", "达瓦", "白玛", "央金", "措姆", "平措", "顿珠", "洛桑", "强巴", "多吉", "曲珍",
           "拉姆", "仁增", "益西", "巴桑", "朗杰", "琼达", "次旦", "贡嘎")
UYGHUR_GIVEN = ("阿依古丽", "买买提", "热依拉", "艾力", "古丽娜尔", "阿不都", "努尔", "迪丽拜尔",
                "吐尔逊", "帕提古丽", "阿布来提", "米热古丽", "依明", "祖丽菲亚", "艾合买提",
                "玛依拉", "库尔班", "阿迪力", "热娜", "伊力哈木")
UYGHUR_FATHER = ("买买提", "阿不都热依木", "吐尔洪", "艾则孜", "卡德尔", "司马义", "托合提",
                 "热合曼", "玉素甫", "阿布都拉", "肉孜", "依沙克")
HAN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
HAN_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
             "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东",
             "文博", "雪梅", "国庆", "春生")

#: Real GB/T 2260 county codes (python-stdnum knows every one of them).
TIBET_COUNTIES = ("540102", "540103", "540104", "540121", "540122", "540123", "540124",
                  "540127", "540202", "540221", "540302", "540402", "540502", "540602",
                  "542521", "542523")
XINJIANG_COUNTIES = ("650102", "650103", "650104", "652801", "653101", "653121", "653122",
                     "653201", "653221", "654002", "652901")
ELSEWHERE = ("510107", "500103", "620102", "630102", "610113", "410105", "330106", "440106")

CHANNELS = ("window",) * 5 + ("online",) * 2 + ("mobile",) * 2 + ("self-service",)
DELIVERY = ("窗口领取", "窗口领取", "邮寄", "电子送达")
REJECT_REASONS = ("不属于本机关职权范围", "申请材料不齐全且逾期未补正", "不符合法定条件")
DENY_REASONS = ("经审查不符合法定条件", "申请事项依法不予许可")
SUSPEND_REASONS = ("需现场核查", "需专家评审", "需公告公示", "依法需要听证")
COMMENTS = ("办事效率高", "窗口人员态度好", "等待时间较长", "材料要求不清楚", "一次办成")


@dataclass(frozen=True)
class Event:
    at_ms: int
    kind: int
    body: bytes


@dataclass
class _Draft:
    """An event before its place in the log is known: its case number comes from there."""

    at_ms: int
    kind: int
    message: record_pb2.CaseEvent | record_pb2.Evaluation

#: Roles every generated staff member holds (a small office: each acts in every role,
#: never as reviewer and decider of one case).
_ROLES = sorted(set(ROLE_FOR_ACTION.values()))


def _org_check(code8: str) -> str:
    """GB 11714 check character of an organisation code's first eight characters."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(alphabet.index(c) * w for c, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2),
                                                       strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


class Workload:
    """Seeded generator of counties' case events over the matters of the sample catalogue.

    One generator per store: it remembers whom it has registered on each county's
    staff register, so events for a second store need a second generator.
    """

    def __init__(self, matters: Sequence[record_pb2.Matter], *, seed: int = 18,
                 until: date = date(2026, 11, 30), days: int = 330) -> None:
        if not matters:
            raise ValueError("the workload needs the published matters of the sample catalogue")
        self.matters = list(matters)
        self.seed = seed
        self.until = until
        self.days = days
        #: per county, the actors already registered by events this generator made
        self._registered: dict[str, set[str]] = {}

    # --- people -------------------------------------------------------------------------------

    @staticmethod
    def name(rng: random.Random, county: str) -> str:
        roll = rng.random()
        if (county.startswith("54") and roll < 0.85) or (county.startswith("65") and roll < 0.03):
            return rng.choice(TIBETAN) + (rng.choice(TIBETAN) if rng.random() < 0.6 else "")
        if county.startswith("65") and roll < 0.63:
            return f"{rng.choice(UYGHUR_GIVEN)}·{rng.choice(UYGHUR_FATHER)}"
        return rng.choice(HAN_SURNAMES) + rng.choice(HAN_GIVEN) + (
            rng.choice(HAN_GIVEN)[:1] if rng.random() < 0.5 else "")

    @staticmethod
    def resident_id(rng: random.Random, county: str) -> str:
        roll = rng.random()
        pool = TIBET_COUNTIES if county.startswith("54") else XINJIANG_COUNTIES
        home = county if county in pool else rng.choice(pool)  # benches invent some counties
        region = home if roll < 0.7 else (rng.choice(pool) if roll < 0.9
                                          else rng.choice(ELSEWHERE))
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 66))
        body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")  # stdnum skips the last character

    @staticmethod
    def credit_code(rng: random.Random, county: str) -> str:
        org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        body = rng.choice(("91", "92", "93", "12", "52")) + county + org + _org_check(org)
        return body + uscc.calc_check_digit(body)

    def _staff(self, county: str) -> dict[str, list[str]]:
        """Per implementing body of the catalogue, the county's staff who act for it."""
        rng = random.Random(f"{self.seed}/{county}/staff")
        bodies = sorted({m.body_name for m in self.matters})
        return {body: [f"{self.name(rng, county)}({rng.randrange(1, 9999):04d})"
                       for _ in range(rng.randrange(3, 7))] for body in bodies}

    # --- cases --------------------------------------------------------------------------------

    def case(self, rng: random.Random, county: str, number: int, staff: dict[str, list[str]]
             ) -> list[_Draft]:
        """One case's events in time order (an evaluation included when it gets one); its
        case number is a placeholder until ``_placed`` knows the application's seq."""
        matter = rng.choice(self.matters)
        case_no = f"{county}-{self.until.year}-{number:07d}"
        first_day = self.until - timedelta(days=self.days)
        day = first_day + timedelta(days=rng.randrange(self.days))
        while day.weekday() >= 5 and rng.random() < 0.9:
            day += timedelta(days=1)
        t = ms_of_date(day) + 9 * HOUR + rng.randrange(8 * HOUR)
        end_ms = ms_of_date(self.until) + 18 * HOUR
        clerks = staff[matter.body_name]
        events: list[_Draft] = []
        reviewer = ""

        def add(hours: float, **fields) -> bool:
            """Append an event ``hours`` after the last; False once that is past ``until``."""
            nonlocal t, reviewer
            t += int(hours * HOUR) + rng.randrange(HOUR // 2)
            if t > end_ms:
                return False
            actor = rng.choice([c for c in clerks if c != reviewer]
                               if fields["action"] == "decide" else clerks)
            if fields["action"] == "review":
                reviewer = actor
            events.append(_Draft(t, record_pb2.CASE_EVENT, record_pb2.CaseEvent(
                case_no=case_no, actor=actor, **fields)))
            return True

        legal = "法人" in matter.service_object and "自然人" not in matter.service_object
        organisation = legal or rng.random() < 0.04
        applicant = (self.credit_code(rng, county) if organisation
                     else self.resident_id(rng, county))
        required = [m.name for m in matter.materials if m.required]
        optional = [m.name for m in matter.materials if not m.required]
        deferrable = [m.name for m in matter.materials if m.required and m.deferrable]
        path = rng.random()
        owed = rng.choice(deferrable) if deferrable and 0.80 <= path < 0.88 else None
        handed = [m for m in required if m != owed] + [m for m in optional if rng.random() < 0.3]
        name = self.name(rng, county)
        if organisation:
            name += rng.choice(("经营部", "商贸有限公司", "合作社", "工作室"))
        add(0, action="apply", matter_code=matter.impl_code, matter_version=matter.version,
            applicant_id=applicant, applicant_name=name,
            channel=rng.choice(CHANNELS), materials=handed,
            limit_days=matter.promised_limit_days)
        if path < 0.06:
            add(rng.uniform(1, 30), action="reject", reason=rng.choice(REJECT_REASONS))
            return events
        if path < 0.08:
            add(rng.uniform(1, 48), action="withdraw", reason="申请人撤回")
            return events
        if path < 0.20:  # 补正 before acceptance
            asked = rng.choice(required)
            if not add(rng.uniform(1, 24), action="request-supplement", materials=[asked]):
                return events
            if rng.random() < 0.1:
                add(24 * rng.randrange(3, 20), action="reject", reason=REJECT_REASONS[1])
                return events
            if not add(24 * rng.randrange(1, 6), action="supply", materials=[asked]):
                return events
        if owed is not None:
            ok = add(rng.uniform(0.2, 4), action="accept", missing_material=owed,
                     due_days=rng.choice((3, 5, 5, 10)))
            if ok:
                ok = add(24 * rng.randrange(1, 5), action="supply", materials=[owed])
        else:
            ok = add(rng.uniform(0.2, 4), action="accept")
        if not ok:
            return events
        if 0.88 <= path < 0.91:
            if not add(24 * rng.randrange(1, 4), action="suspend",
                       reason=rng.choice(SUSPEND_REASONS)):
                return events
            if not add(24 * rng.randrange(2, 15), action="resume"):
                return events
        if 0.91 <= path < 0.92:
            add(24 * rng.randrange(1, 4), action="withdraw", reason="申请人撤回")
            return events
        if not add(24 * rng.randrange(0, 3) + rng.uniform(1, 8), action="review"):
            return events
        deny = rng.random() < 0.03
        if not add(24 * rng.randrange(1, max(2, matter.promised_limit_days + 2)),
                   action="decide", approve=not deny,
                   **({"reason": rng.choice(DENY_REASONS)} if deny else {})):
            return events
        if not add(rng.uniform(0.5, 48), action="conclude"):
            return events
        if not deny and not add(24 * rng.randrange(0, 6) + 1, action="deliver",
                                method=rng.choice(DELIVERY)):
            return events
        if rng.random() < 1 / 3:
            level = 1 if rng.random() < 0.03 else rng.choice((3, 4, 4, 5, 5, 5, 5))
            t += rng.randrange(1, 72) * HOUR
            if t <= end_ms:
                events.append(_Draft(t, record_pb2.EVALUATION, record_pb2.Evaluation(
                    case_no=case_no, level=level, evaluator_kind="applicant",
                    channel=rng.choice(("mobile", "online", "self-service", "sms")),
                    evaluator=applicant, anonymous=rng.random() < 0.2,
                    comment=rng.choice(COMMENTS) if rng.random() < 0.3 else "",
                )))
        return events

    def county_events(self, county: str, count: int, *, first_seq: int = 0,
                      first_number: int = 1, year: int | None = None) -> list[Event]:
        """About ``count`` case events of one county (whole cases) in time order, with the
        staff registrations they need, valid as that county's log from ``first_seq``.

        Applications are numbered by their seq in the year of ``year`` (the writing
        store's clock) or, when None, of the event's own time (records() stamps it).
        """
        rng = random.Random(f"{self.seed}/{county}/{first_number}")
        staff = self._staff(county)
        drafts: list[_Draft] = []
        number = first_number
        while len(drafts) < count:
            drafts += self.case(rng, county, number, staff)
            number += 1
        drafts.sort(key=lambda e: e.at_ms)
        return self._placed(county, drafts, first_seq, year)

    def _placed(self, county: str, drafts: list[_Draft], first_seq: int, year: int | None
                ) -> list[Event]:
        registered = self._registered.setdefault(county, set())
        numbers: dict[str, str] = {}
        out: list[Event] = []
        for draft in drafts:
            actor = getattr(draft.message, "actor", "")
            if actor and actor not in registered:
                registered.add(actor)
                out.append(Event(draft.at_ms, record_pb2.STAFF_REGISTERED, record_pb2.StaffMember(
                    staff_id=actor, name=actor.split("(")[0], roles=_ROLES).SerializeToString()))
            message = draft.message
            if getattr(message, "action", "") == "apply":
                at_year = year or date_of_ms(draft.at_ms).year
                numbers[message.case_no] = f"{county}-{at_year}-{first_seq + len(out):07d}"
            message.case_no = numbers[message.case_no]
            out.append(Event(draft.at_ms, draft.kind, message.SerializeToString()))
        return out

    def records(self, county: str, count: int, *, first_seq: int = 0) -> list[bytes]:
        """``county_events`` as signed-log records from ``first_seq`` (strictly rising HLC)."""
        out = []
        last = 0
        for seq, event in enumerate(self.county_events(county, count, first_seq=first_seq),
                                    start=first_seq):
            last = max(last + 1, event.at_ms << 16)
            out.append(build_record(county, seq, last, event.kind, event.body, ""))
        return out

    def drafts(self, county: str, count: int, *, first_seq: int, first_number: int = 1
               ) -> Iterator[Draft]:
        """The same events as ``NodeStore.write`` drafts for a log holding ``first_seq``
        records (the store stamps seq and time: applications carry this year's number)."""
        year = date_of_ms(clock.wall_ms()).year
        for event in self.county_events(county, count, first_seq=first_seq,
                                        first_number=first_number, year=year):
            yield Draft(event.kind, lambda _s, _h, body=event.body: body)


def counties(n: int) -> list[str]:
    """n current county codes (certificates enrol no other), Tibet's and Xinjiang's named
    ones first, then the rest of both regions' in the shipped GB/T 2260 list."""
    named = [*TIBET_COUNTIES, *XINJIANG_COUNTIES]
    found = list(named)
    for region in ("54", "65"):
        for prefecture in range(1, 100):
            for county in range(1, 100):
                if len(found) >= n:
                    return found[:n]
                code = f"{region}{prefecture:02d}{county:02d}"
                entry = listed(code)
                if code not in named and entry is not None and entry[1] is None:
                    found.append(code)
    return found[:n]


def gzip_ratio(records: Sequence[bytes]) -> float:
    """Raw bytes over gzip bytes of the records concatenated in ~1 MiB batches, as sent."""
    raw = packed = 0
    batch: list[bytes] = []
    for data in [*records, b""]:
        batch.append(data)
        if sum(len(b) for b in batch) >= 1 << 20 or data == b"":
            joined = b"".join(batch)
            raw += len(joined)
            packed += len(gzip.compress(joined))
            batch = []
    return raw / max(packed, 1)


def published_matters(store: NodeStore) -> list[record_pb2.Matter]:
    """The current versions of the matters published on ``store`` (the sample catalogue)."""
    return [current_matter(store.db, item["code"]) for item in list_matters(store.db)]
