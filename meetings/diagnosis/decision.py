"""From the results to a decision: an agenda item of the owner's body on a closed
campaign, with the report attached as material and the draft resolution prefilled.

The item is an ordinary agenda item (:meth:`meetings.preparation.MeetingService.add_item`):
it then goes through the meeting, the vote, the protocol and the resolution like any
other, and the meeting's preparers may edit its draft as they like. A participating
organisation's own body may do the same with that organisation's own result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import CampaignState
from meetings.diagnosis.results import (
    campaign_results,
    draft_resolution,
    own_draft_resolution,
    own_results,
)
from meetings.diagnosis.schemas import ResultsOut
from meetings.models import AgendaItem, Meeting
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn
from registry.errors import Conflict, NotFound
from registry.models import Body

__all__ = ["ITEM_TITLE", "OWN_ITEM_TITLE", "put_on_agenda"]

ITEM_TITLE = "О результатах самодиагностики цифровой зрелости членских организаций"
OWN_ITEM_TITLE = "О результатах самодиагностики цифровой зрелости организации"


async def put_on_agenda(
    service: CampaignService,
    campaign_id: int,
    meeting_id: int,
    report: Callable[[ResultsOut, int | None], Awaitable[bytes]],
    store: BlobStore,
) -> AgendaItem:
    """Add the item to a meeting of one of the owner organisation's bodies (on every
    organisation's results) or of a participating organisation's body (on its own).
    ``report`` makes the PDF of the results given (the organisation's id for its own)."""
    campaign, access = await service.get(campaign_id)
    if campaign.state is not CampaignState.CLOSED:
        raise Conflict(
            "close the campaign first: its results go on the agenda when final",
            code="campaign_open",
        )
    session = service.session
    meeting = await session.get(Meeting, meeting_id)
    body = await session.get(Body, meeting.body_id) if meeting is not None else None
    if meeting is None or body is None:
        raise NotFound("no such meeting", key="no_meeting")
    if body.organisation_id == campaign.organisation_id:
        results = await campaign_results(service, campaign_id)  # the owner's officers only
        title, draft = ITEM_TITLE, draft_resolution(results, body.name)
        own = None
    elif body.organisation_id in access.responding:
        results = await own_results(service, campaign_id, body.organisation_id)
        if not results.organisations:
            raise Conflict(
                "the organisation did not submit its questionnaire", code="not_submitted"
            )
        title, draft = OWN_ITEM_TITLE, own_draft_resolution(results, body.name)
        own = body.organisation_id
    else:
        raise Conflict(
            "the meeting is of another organisation's body",
            fields={"meeting_id": "another organisation"},
            code="other_organisation",
        )
    meetings = MeetingService(session, service.actor)
    item = await meetings.add_item(meeting.id, AgendaItemIn(title=title, draft_resolution=draft))
    await meetings.add_material(
        item.id, f"Итоги самодиагностики — {campaign.title}.pdf", await report(results, own), store
    )
    return item
