"""The report of a signed document's verification (``meetings.docverify``) in words
of the user's language: the lines the verification page shows and the text
``kvorum docs verify`` prints (Russian unless English is chosen).

Pure: no aiohttp or database, so that the offline command can use it on an auditor's
machine (``server.entry`` loads it without the server).
"""

from __future__ import annotations

from dataclasses import dataclass

from meetings import docverify
from registry.localtime import DEFAULT_ZONE, LocalClock
from server.i18n import Catalogues, Translator

__all__ = ["Line", "render_report", "report_text", "said", "summary"]


@dataclass(frozen=True)
class Line:
    """A line of the verifier's report as the page says it: in the page's language, with
    the verifier's own (English) words kept for the administrator where a check failed."""

    ok: bool
    label: str
    text: str
    detail: str = ""
    skipped: bool = False  # not made: an earlier check could not read the file


def said(report: docverify.DocReport, t: Translator, clock: LocalClock) -> list[Line]:
    record = report.record
    kind = t(f"documents.kind.{record.kind}") if record else ""
    lines = []
    for check in report.checks:
        label = t(f"docverify.check.{check.name}")
        p = dict(check.params)
        if not check.ok:
            if check.message.startswith("not checked"):  # the first failure says why
                lines.append(Line(False, label, t("docverify.failed.not_checked"), skipped=True))
            else:
                lines.append(Line(False, label, t(f"docverify.failed.{check.name}"), check.message))
            continue
        match check.name:
            case "file" if record is not None:
                text = t(
                    "docverify.ok.file",
                    kind=kind,
                    number=record.number,
                    title=record.title,
                    org=record.org_name,
                    journal=record.journal,
                )
            case "trust":
                text = t(
                    "docverify.ok.trust_given" if p.get("given") else "docverify.ok.trust_file",
                    keys=p.get("keys", ""),
                )
            case "signatures" if record is not None and record.by_commission:
                times = p.get("times") or {}
                assert isinstance(times, dict)
                text = t(
                    "docverify.ok.signatures_commission",
                    names=", ".join(f"{name} ({clock.labelled(at)})" for name, at in times.items()),
                )
            case "signatures":
                times = p.get("times") or {}
                assert isinstance(times, dict)
                text = t(
                    "docverify.ok.signatures",
                    secretary=clock.labelled(times.get("secretary")),
                    chair=clock.labelled(times.get("chair")),
                )
            case "secretary" | "chair" | "commission":
                text = t(
                    "docverify.ok.commission_signer"
                    if check.name == "commission"
                    else "docverify.ok.signer",
                    name=p.get("signer", ""),
                    at=clock.labelled(p.get("signed_at")),  # type: ignore[arg-type]
                    serial=p.get("serial", ""),
                    since=clock(p.get("valid_from"), "%d.%m.%Y"),  # type: ignore[arg-type]
                    until=clock(p.get("valid_to"), "%d.%m.%Y"),  # type: ignore[arg-type]
                )
            case _:
                text = t(f"docverify.ok.{check.name}", **p)
        lines.append(Line(True, label, text))
    return lines


def summary(report: docverify.DocReport, t: Translator, lines: list[Line]) -> str:
    record = report.record
    if report.ok and record is not None:
        signers = ", ".join(
            f"{t(f'documents.role.{s.role}').lower()} {s.name}" for s in record.signers
        )
        return str(
            t(
                "docverify.summary.ok",
                kind=t(f"documents.kind.{record.kind}"),
                number=record.number,
                date=record.date.strftime("%d.%m.%Y"),
                title=record.title,
                org=record.org_name,
                signers=signers,
            )
        )
    failed = [line.label for line in lines if not line.ok and not line.skipped]
    return str(t("docverify.summary.failed", checks=", ".join(failed) or "—"))


def report_text(report: docverify.DocReport, t: Translator, clock: LocalClock) -> str:
    """The report of ``kvorum docs verify`` in the page's words (Russian by default):
    one line a check with its id, the verifier's own finding kept after a failure, and
    the summary."""
    lines = said(report, t, clock)
    out = list(report.notes)
    for check, line in zip(report.checks, lines, strict=True):
        mark = "✔" if line.ok else "✘"
        ident = docverify.CHECK_IDS.get(check.name, "?")
        detail = f" ({line.detail})" if line.detail else ""
        out.append(f"{mark} {ident} {line.label}: {line.text}{detail}")
    out.append(summary(report, t, lines))
    return "\n".join(out)


def render_report(report: docverify.DocReport, lang: str) -> str:
    """``kvorum docs verify``'s report in ``lang``, times in the installation's zone."""
    t = Catalogues().translator(lang)
    return report_text(report, t, LocalClock(DEFAULT_ZONE, t.locale))
