"""How the meeting's record reads the events of its elections and counting commissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.i18n import Translator

__all__ = ["describe_election_event"]


def describe_election_event(
    kind: str, data: Mapping[str, Any], t: Translator
) -> tuple[str, bool] | None:
    """The words for an ``election.*`` or ``commission.*`` event, and whether the
    protocol needs it (the commission's election does); None for any other kind."""
    office = str(data.get("office", ""))
    members = data.get("members")
    names = (
        ", ".join(str(m.get("name", "")) for m in members if isinstance(m, Mapping))
        if isinstance(members, list)
        else ""
    )
    vote = data.get("vote", "?")
    if kind == "election.prepared":
        return t("record.election.prepared", office=office), True
    if kind == "election.nominated":
        name, by = data.get("name", ""), data.get("nominated_by", "")
        return t("record.election.nominated", name=name, office=office, by=by), True
    if kind == "election.consent":
        return t("record.election.consent", name=data.get("name", ""), office=office), False
    if kind == "election.withdrawn":
        return t("record.election.withdrawn", name=data.get("name", ""), office=office), True
    if kind == "election.state":
        state = str(data.get("to", ""))
        key = f"election.state.{state}"
        return t(
            "record.election.state", office=office, state=t(key) if t.has(key) else state
        ), True
    if kind == "commission.protocol":
        return t("record.commission.protocol", office=office, journal=data.get("journal", "")), True
    if kind in ("election.approval_put", "election.approved", "election.approval_rejected"):
        return t(f"record.{kind}", office=office, vote=vote), True
    if kind in ("commission.proposed", "commission.constituted", "commission.rejected"):
        return t(f"record.{kind}", office=office, names=names, vote=vote), True
    return None
