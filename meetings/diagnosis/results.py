"""The results of a campaign: each submitted organisation's score and level, overall and
per section, its weakest points and the change since its previous campaign; for the
owner, the distribution across levels and the per-section averages.

Only submitted (signed) questionnaires count. Scores are exact fractions from
:mod:`registry.diagnosis.scoring`, rounded to one decimal only here, for showing.
"""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction

from sqlalchemy import select

from meetings.diagnosis.campaigns import CampaignService
from meetings.diagnosis.models import Campaign, Participant, ParticipantState
from meetings.diagnosis.schemas import OrganisationResultOut, ResultsOut, SectionResultOut
from registry.diagnosis.methodology import Methodology
from registry.diagnosis.models import MethodologyVersion
from registry.diagnosis.scoring import Result, score
from registry.errors import PermissionDenied
from registry.models import Organisation

__all__ = ["campaign_results", "draft_resolution", "own_draft_resolution", "own_results"]


def _round(value: Fraction) -> float:
    return round(float(value), 1)


async def campaign_results(service: CampaignService, campaign_id: int) -> ResultsOut:
    """The campaign's results, for its officers (the owner organisation's)."""
    campaign, access = await service.get(campaign_id)
    if not access.manage:
        raise PermissionDenied(
            "the campaign's results are for the officers of the organisation running it",
            code="diagnosis_not_officer",
        )
    return await _results(service, campaign, await service.participants(campaign))


async def own_results(service: CampaignService, campaign_id: int, org_id: int) -> ResultsOut:
    """One organisation's own result in the campaign, for those who answer for it."""
    campaign, access = await service.get(campaign_id)
    if org_id not in access.responding:
        raise PermissionDenied(
            "only the chair or the secretary of one of the organisation's bodies answers for it",
            code="not_responder",
        )
    everyone = [(p, o) for p, o in await service.participants(campaign) if o.id == org_id]
    return await _results(service, campaign, everyone)


async def _results(
    service: CampaignService, campaign: Campaign, everyone: list[tuple[Participant, Organisation]]
) -> ResultsOut:
    methodology = await service.methodology(campaign)
    rank = {level.code: i for i, level in enumerate(methodology.levels)}
    target = rank.get(campaign.target_level, 0)
    previous = await _previous_scores(service, campaign, methodology)
    scored: list[tuple[Organisation, Result]] = []
    missing = []
    for row, org in everyone:
        if row.state is ParticipantState.SUBMITTED:
            scored.append((org, score(methodology, json.loads(row.answers), weakest=5)))
        else:
            missing.append(org.short_name or org.name)
    organisations = []
    for org, result in sorted(scored, key=lambda pair: (-pair[1].score, pair[0].name)):
        before = previous.get(org.id)
        organisations.append(
            OrganisationResultOut(
                organisation_id=org.id,
                organisation=org.short_name or org.name,
                score=result.rounded,
                level=result.level.code,
                level_title=result.level.title,
                below_target=rank[result.level.code] < target,
                sections=[
                    SectionResultOut(
                        code=s.code,
                        title=s.title,
                        score=s.rounded,
                        level=s.level.code,
                        level_title=s.level.title,
                    )
                    for s in result.sections
                ],
                weakest=[
                    {
                        "section": w.section,
                        "question": w.question,
                        "text": w.text,
                        "lost": _round(w.lost),
                    }
                    for w in result.weakest
                ],
                previous_score=_round(before) if before is not None else None,
                change=_round(result.score - before) if before is not None else None,
            )
        )
    counts = Counter(result.level.code for _org, result in scored)
    sections = []
    for index, section in enumerate(methodology.sections):
        values = [result.sections[index].score for _org, result in scored]
        average = sum(values, Fraction(0)) / len(values) if values else None
        sections.append(
            {
                "code": section.code,
                "title": section.title,
                "average": _round(average) if average is not None else None,
                "level": methodology.level_of(average).title if average is not None else "",
            }
        )
    overall = [result.score for _org, result in scored]
    return ResultsOut(
        campaign_id=campaign.id,
        title=campaign.title,
        target_level=campaign.target_level,
        submitted=len(scored),
        total=len(everyone),
        not_submitted=sorted(missing),
        organisations=organisations,
        levels=[
            {
                "code": level.code,
                "title": level.title,
                "from": level.low,
                "to": level.high,
                "count": counts.get(level.code, 0),
            }
            for level in methodology.levels
        ],
        sections=sections,
        average=_round(sum(overall, Fraction(0)) / len(overall)) if overall else None,
    )


async def _previous_scores(
    service: CampaignService, campaign: Campaign, methodology: Methodology
) -> dict[int, Fraction]:
    """Each organisation's score in its latest earlier campaign of the same owner and
    methodology code (any version), where it submitted."""
    session = service.session
    earlier = (
        (
            await session.execute(
                select(Campaign, MethodologyVersion)
                .join(MethodologyVersion, MethodologyVersion.id == Campaign.methodology_id)
                .where(
                    Campaign.organisation_id == campaign.organisation_id,
                    Campaign.id < campaign.id,
                    MethodologyVersion.code == methodology.code,
                )
                .order_by(Campaign.id.desc())
            )
        )
        .tuples()
        .all()
    )
    if not earlier:
        return {}
    order = {c.id: i for i, (c, _v) in enumerate(earlier)}
    versions = {c.id: v for c, v in earlier}
    org_ids = [p.organisation_id for p, _o in await service.participants(campaign)]
    rows = (
        await session.scalars(
            select(Participant).where(
                Participant.campaign_id.in_(list(order)),
                Participant.organisation_id.in_(org_ids),
                Participant.state == ParticipantState.SUBMITTED,
            )
        )
    ).all()
    latest: dict[int, Participant] = {}
    for row in rows:
        best = latest.get(row.organisation_id)
        if best is None or order[row.campaign_id] < order[best.campaign_id]:
            latest[row.organisation_id] = row
    parsed: dict[int, Methodology] = {}
    out = {}
    for org_id, row in latest.items():
        version = versions[row.campaign_id]
        if version.id not in parsed:
            parsed[version.id] = Methodology.from_json(json.loads(version.content))
        out[org_id] = score(parsed[version.id], json.loads(row.answers), weakest=0).score
    return out


def draft_resolution(results: ResultsOut, owner: str) -> str:
    """The draft resolution of the agenda item on the results: findings and what to do."""
    target = next((lv for lv in results.levels if lv["code"] == results.target_level), None)
    target_title = target["title"] if target else results.target_level
    lines = [
        f"Заслушав информацию о результатах самодиагностики цифровой зрелости членских "
        f"организаций («{results.title}»), {owner} ПОСТАНОВЛЯЕТ:",
        "",
        f"1. Принять к сведению результаты самодиагностики: анкеты представили "
        f"{results.submitted} из {results.total} организаций"
        + (f", средний балл {results.average:.1f} из 100." if results.average is not None else "."),
    ]
    point = 2
    below = [o for o in results.organisations if o.below_target]
    if below:
        names = "; ".join(f"{o.organisation} ({o.score:.1f}, {o.level_title})" for o in below)
        lines.append(
            f"{point}. Отметить, что уровня «{target_title}» не достигли: {names}. "
            "Руководителям этих организаций разработать и представить планы развития "
            "информационной работы и цифровых технологий."
        )
        point += 1
    weak_sections = [
        s
        for s in results.sections
        if s["average"] is not None and target is not None and s["average"] < target["from"]
    ]
    if weak_sections:
        names = "; ".join(f"«{s['title']}» ({s['average']:.1f})" for s in weak_sections)
        lines.append(
            f"{point}. Считать приоритетными направлениями работы разделы со средним баллом "
            f"ниже уровня «{target_title}»: {names}."
        )
        point += 1
    for org in below:
        points = "; ".join(w["text"] for w in org.weakest[:3])
        if points:
            lines.append(f"{point}. {org.organisation}: в первую очередь — {points}.")
            point += 1
    if results.not_submitted:
        lines.append(
            f"{point}. Обязать организации, не представившие анкеты ("
            + "; ".join(results.not_submitted)
            + "), провести самодиагностику."
        )
        point += 1
    lines.append(f"{point}. Контроль за выполнением постановления возложить на аппарат.")
    return "\n".join(lines)


def own_draft_resolution(results: ResultsOut, body: str) -> str:
    """The draft resolution of an organisation's own body on its own result."""
    own = results.organisations[0]
    target = next((lv for lv in results.levels if lv["code"] == results.target_level), None)
    target_title = target["title"] if target else results.target_level
    lines = [
        "Заслушав информацию о результатах самодиагностики цифровой зрелости организации "
        f"(«{results.title}»), {body} ПОСТАНОВЛЯЕТ:",
        "",
        f"1. Принять к сведению результаты самодиагностики: {own.score:.1f} балла из 100, "
        f"уровень «{own.level_title}»"
        + (f", изменение с прошлой самодиагностики {own.change:+.1f}." if own.change else "."),
    ]
    point = 2
    weak = [s for s in own.sections if target is not None and s.score < target["from"]]
    if weak:
        names = "; ".join(f"«{s.title}» ({s.score:.1f})" for s in weak)
        lines.append(
            f"{point}. Считать приоритетными разделы ниже уровня «{target_title}»: {names}."
        )
        point += 1
    if own.weakest:
        points = "; ".join(w["text"] for w in own.weakest[:5])
        lines.append(f"{point}. Разработать план развития, в первую очередь: {points}.")
        point += 1
    lines.append(f"{point}. Контроль за выполнением постановления возложить на председателя.")
    return "\n".join(lines)
