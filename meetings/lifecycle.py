"""The meeting's life: draft → announced → registration → in session → closed.

An absentee (заочное) meeting has no session: it goes from announced straight to
closed once its votes are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetings.models import MeetingForm, MeetingState
from registry.errors import Conflict, PermissionDenied

__all__ = ["Transition", "allowed_targets", "check_transition"]

S = MeetingState


@dataclass(frozen=True)
class Transition:
    source: MeetingState
    target: MeetingState
    # Who may make it: "chair", "secretary" (of this meeting), "registrar".
    by: frozenset[str]


_SESSION = (
    Transition(S.DRAFT, S.ANNOUNCED, frozenset({"chair", "secretary", "registrar"})),
    Transition(S.ANNOUNCED, S.DRAFT, frozenset({"chair", "secretary", "registrar"})),
    Transition(S.ANNOUNCED, S.REGISTRATION, frozenset({"chair", "secretary"})),
    Transition(S.REGISTRATION, S.IN_SESSION, frozenset({"chair"})),
    Transition(S.IN_SESSION, S.CLOSED, frozenset({"chair"})),
)
_ABSENTEE = (
    Transition(S.DRAFT, S.ANNOUNCED, frozenset({"chair", "secretary", "registrar"})),
    Transition(S.ANNOUNCED, S.DRAFT, frozenset({"chair", "secretary", "registrar"})),
    Transition(S.ANNOUNCED, S.CLOSED, frozenset({"chair", "secretary"})),
)


def _table(form: MeetingForm) -> tuple[Transition, ...]:
    return _ABSENTEE if form is MeetingForm.ABSENTEE else _SESSION


def allowed_targets(form: MeetingForm, state: MeetingState, roles: frozenset[str]) -> list[S]:
    """The states a caller with ``roles`` may move the meeting to from ``state``."""
    return [t.target for t in _table(form) if t.source is state and t.by & roles]


def check_transition(
    form: MeetingForm, source: MeetingState, target: MeetingState, roles: frozenset[str]
) -> Transition:
    """The transition, or a Conflict / PermissionDenied saying why it is refused."""
    for transition in _table(form):
        if transition.source is source and transition.target is target:
            if not transition.by & roles:
                who = " or ".join(sorted(transition.by))
                raise PermissionDenied(
                    f"only the meeting's {who} may move it from {source.value} to {target.value}",
                    key="transition_not_yours",
                    params={"who": who, "source": source.value, "target": target.value},
                )
            return transition
    possible = ", ".join(t.target.value for t in _table(form) if t.source is source) or "none"
    raise Conflict(
        f"a {form.value} meeting cannot go from {source.value} to {target.value} "
        f"(possible from here: {possible})",
        code="bad_transition",
        params={"source": source.value, "target": target.value},
    )
