"""From the results to a decision: an agenda item of the owner's body on a closed
campaign, with the report attached as material and the draft resolution prefilled.

The item is an ordinary agenda item (:meth:`meetings.preparation.MeetingService.add_item`):
it then goes through the meeting, the vote, the protocol and the resolution like any
other, and the meeting's preparers may edit its draft as they like.
"""

from __future__ import annotations

from meetings.blobs import BlobStore
from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import CampaignState
from meetings.diagnosis.results import campaign_results, draft_resolution
from meetings.models import AgendaItem, Meeting
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn
from registry.errors import Conflict, NotFound
from registry.models import Body, Organisation

__all__ = ["ITEM_TITLE", "put_on_agenda"]

ITEM_TITLE = "О результатах самодиагностики цифровой зрелости членских организаций"


async def put_on_agenda(
    service: CampaignService, campaign_id: int, meeting_id: int, report_pdf: bytes, store: BlobStore
) -> AgendaItem:
    """Add the item to a meeting of one of the owner organisation's bodies."""
    results = await campaign_results(service, campaign_id)  # the owner's officers only
    campaign, _access = await service.get(campaign_id)
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
    if body.organisation_id != campaign.organisation_id:
        raise Conflict(
            "the meeting is of another organisation's body",
            fields={"meeting_id": "another organisation"},
            code="other_organisation",
        )
    owner = await session.get(Organisation, campaign.organisation_id)
    assert owner is not None
    meetings = MeetingService(session, service.actor)
    item = await meetings.add_item(
        meeting.id,
        AgendaItemIn(title=ITEM_TITLE, draft_resolution=draft_resolution(results, body.name)),
    )
    await meetings.add_material(
        item.id, f"Итоги самодиагностики — {campaign.title}.pdf", report_pdf, store
    )
    return item
