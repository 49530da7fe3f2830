"""Random operation sequences against the session machine, checking the visibility and SMS invariants."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from smsdesk.domain.capabilities import capabilities
from smsdesk.domain.errors import GwsError
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import ParticipantRole, SupervisionMode, UserState
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.supervision import MonitoringSubscription, Scope, plan_joins, subscribe
from smsdesk.domain.system import (
    CloseSession,
    DeliveryStatus,
    InboundText,
    Intrude,
    Offer,
    Overflow,
    RemoveUser,
    SystemText,
    WithdrawOffer,
)
from smsdesk.domain.transitions import Command
from tests.domain.helpers import BASE, Driver, make_ctx

AGENTS = ["a1", "a2", "a3"]
SUPERVISORS = ["s1", "s2"]
USERS = AGENTS + SUPERVISORS
TEXT = st.text(alphabet="ab ", min_size=1, max_size=4)


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ctx = make_ctx()
        self.drivers: list[Driver] = []
        self.subs: tuple[MonitoringSubscription, ...] = ()
        self.load: Counter[str] = Counter()
        self.clock = 1_700_000_000_000

    # -- helpers -------------------------------------------------------------------------------------

    def pick(self, i: int) -> Driver:
        return self.drivers[i % len(self.drivers)]

    def run(self, d: Driver, fn: Any) -> Outcome | None:
        before = d.session
        try:
            out: Outcome = fn()
        except GwsError as exc:
            assert exc.message
            assert d.session is before
            return None
        self.check(d, out)
        if out.accepted_by is not None:
            plan = plan_joins(self.subs, agent_id=out.accepted_by, session=d.s, transcript=d.transcript)
            self.subs = tuple(s for s in self.subs if s not in plan.ended)
            for join in plan.joins:
                self.check(d, d.do(join))
        return out

    def check(self, d: Driver, out: Outcome) -> None:
        s = out.session
        self.load.update(out.busied)
        self.load.subtract(out.freed)
        by_index = {m["index"]: m for m in d.transcript}
        for sms in out.outbound_sms:
            m = by_index[sms.index]
            assert m["visibility"] == "All" and m["type"] in ("Text", "PushUrl")
            assert m["from"]["type"] != "Customer" and m["from"]["visibility"] == "All"
        for n in out.notifications:
            self.check_notification(s, n.user_id, n.data)

    def check_notification(self, s: Session, user: str, data: Any) -> None:
        is_agent = user in AGENTS
        if data.get("notificationType") == "Error":  # to the one who asked, still in the session
            me = s.for_user(user)
            assert me is not None and not me.terminal and data["errorMessage"].startswith("Request failed")
            assert data["smssessionPath"].endswith(s.id)
            return
        if data["messageType"] == "MessageLogUpdated":
            for m in data["messages"]:
                if is_agent:
                    assert m["visibility"] != "Supervisors" and m["from"]["visibility"] != "Supervisors"
            return
        obj = data["smssession"]
        # a user may hold several participants of one session: one Revoked by a new invitation that
        # replaced it (a second Transfer to the same agent), the other Invited; the notification is one's
        mine = [p for p in s.participants if p.user_id == user]
        me = next((p for p in reversed(mine) if p.state.value == obj["state"]), None)
        assert me is not None, (user, obj["state"], [p.state for p in mine])
        if me.terminal:
            assert "capabilities" not in obj and obj["participants"] == []
        else:
            assert obj["capabilities"] == [op.capability for op in capabilities(s, me)]
        if is_agent:
            monitors = {p.participant_id for p in s.participants if p.mode is SupervisionMode.MONITOR}
            for p in obj["participants"]:
                assert p["visibility"] != "Supervisors" and p["participantId"] not in monitors

    # -- rules ---------------------------------------------------------------------------------------

    @rule(text=TEXT, i=st.integers(0, 3))
    def inbound(self, text: str, i: int) -> None:
        if not self.drivers or self.pick(i).s.phase not in (Phase.QUEUED, Phase.OFFERED, Phase.ACTIVE):
            d = Driver(ctx=self.ctx)
            if self.run(d, lambda: d.open(text or "hi")) is not None:
                self.drivers.append(d)
            return
        d = self.pick(i)
        self.run(d, lambda: d.do(InboundText(text)))

    @precondition(lambda self: bool(self.drivers))
    @rule(i=st.integers(0, 3), agent=st.sampled_from(AGENTS))
    def offer(self, i: int, agent: str) -> None:
        d = self.pick(i)
        self.run(d, lambda: d.do(Offer(agent, agent)))

    @precondition(lambda self: bool(self.drivers))
    @rule(
        i=st.integers(0, 3),
        who=st.integers(0, 9),
        op=st.sampled_from(list(Op)),
        capable=st.booleans(),
        whom=st.sampled_from([*USERS, "queue"]),
        text=TEXT,
    )
    def operate(self, i: int, who: int, op: Op, capable: bool, whom: str, text: str) -> None:
        """Mostly a participant calling one of its capabilities; sometimes anyone calling anything."""
        self._operate(i, who, op, capable, whom, text)

    @precondition(lambda self: bool(self.drivers))
    @rule(
        i=st.integers(0, 3), who=st.integers(0, 7), op=st.sampled_from(list(Op)), whom=st.sampled_from(USERS)
    )
    def operate_capably(self, i: int, who: int, op: Op, whom: str) -> None:
        self._operate(i, who, op, True, whom, "ab")

    def _operate(self, i: int, who: int, op: Op, capable: bool, whom: str, text: str) -> None:
        d = self.pick(i)
        live = [p for p in d.s.users() if not p.terminal]
        user = USERS[who % len(USERS)]
        if live and who < 8:
            me = live[who % len(live)]
            user = me.user_id or user
            caps = capabilities(d.s, me)
            if capable and caps:
                op = caps[list(Op).index(op) % len(caps)]
        params: dict[str, Any] = {
            "text": text,
            "url": "https://x.example/" + text.strip(),
            "noticeText": text,
            "userData": {"k": text},
            "keys": ["k"],
            "disposition": text,
            "targetUri": f"{BASE}/api/v2/queues/q2" if whom == "queue" else f"{BASE}/api/v2/users/{whom}",
        }
        if op is Op.COMPLETE and whom == "queue":
            params["queueName"] = "q3"
        self.run(d, lambda: d.op(user, op, params))

    @rule(
        sup=st.sampled_from(SUPERVISORS),
        agent=st.sampled_from(AGENTS),
        mode=st.sampled_from(list(SupervisionMode)),
    )
    def monitor(self, sup: str, agent: str, mode: SupervisionMode) -> None:
        scope = Scope.NEXT_CHAT if mode is SupervisionMode.COACH else Scope.ALL_CHATS
        self.subs = subscribe(self.subs, MonitoringSubscription(sup, agent, mode, scope, sup, 0))

    @precondition(lambda self: bool(self.drivers))
    @rule(i=st.integers(0, 3), sup=st.sampled_from(SUPERVISORS), mode=st.sampled_from(list(SupervisionMode)))
    def intrude(self, i: int, sup: str, mode: SupervisionMode) -> None:
        d = self.pick(i)
        self.run(d, lambda: d.do(Intrude(sup, sup, mode)))

    @precondition(lambda self: bool(self.drivers))
    @rule(i=st.integers(0, 3), kind=st.integers(0, 5), index=st.integers(0, 30), text=TEXT)
    def system(self, i: int, kind: int, index: int, text: str) -> None:
        d = self.pick(i)
        invited = [p.user_id for p in d.s.users() if p.state is UserState.INVITED]
        live = [p.user_id for p in d.s.users() if not p.terminal]
        removed = str(live[index % len(live)]) if live else "a1"
        cmds: list[Command] = [
            CloseSession("opted_out"),
            DeliveryStatus(index, "failed", text),
            SystemText(text),
            WithdrawOffer(str(invited[index % len(invited)]) if invited else "a1"),
            RemoveUser(removed),  # deleted, or absent past the presence grace
            Overflow(f"q{index % 3}"),
        ]
        before = d.s
        out = self.run(d, lambda: d.do(cmds[kind]))
        if out is not None and kind == 4:
            gone = d.s.for_user(removed)
            assert gone is None or gone.terminal  # a gone user holds nothing any more
        if out is not None and kind == 5:  # only a session waiting for its first agent overflows
            assert before.phase is Phase.QUEUED and d.s.phase is Phase.QUEUED
            assert d.s.queue == f"q{index % 3}" and d.s.user_data["OverflowedFrom"] in {before.queue, "sales"}
            assert d.s.participants == before.participants  # nobody joins or leaves

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def sessions_are_consistent(self) -> None:
        held: Counter[str] = Counter()
        for d in self.drivers:
            s = d.s
            assert Session.from_json(s.to_json()) == s
            indices = [m["index"] for m in d.transcript]
            assert indices == sorted(set(indices)) and (not indices or indices[-1] < s.next_index)
            offers = [
                p for p in s.participants if p.role is ParticipantRole.OWNER and p.state is UserState.INVITED
            ]
            assert len(offers) <= 1 and (s.phase is not Phase.OFFERED or len(offers) == 1)
            live = Counter(p.user_id for p in s.users() if not p.terminal)
            assert all(n == 1 for n in live.values())
            pend = s.pending
            asker = None if pend is None else s.by_id(pend.by_participant_id)
            if asker is not None and asker.state is UserState.CHATTING:
                # spec §4.4/§6.18: a pending Invite or Consult gives its asker the conference's list
                caps = set(capabilities(s, asker))
                assert {Op.TRANSFER, Op.INVITE, Op.CONSULT} <= caps
                assert asker.mode is SupervisionMode.MONITOR or Op.SEND_TO_AGENTS in caps
            for p in s.users():
                if pend is not None and p is not asker and p.state is UserState.CHATTING:
                    assert Op.INVITE not in capabilities(s, p)  # one invitation at a time
            held.update(p.user_id or "" for p in s.users() if p.is_agent and not p.terminal)
            for m in d.transcript:
                if m["from"].get("visibility") != "All" or m["visibility"] != "All":
                    assert not any(sms.index == m["index"] for o in d.outcomes for sms in o.outbound_sms)
        assert +self.load == +held


SessionMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSessionMachine = SessionMachine.TestCase
