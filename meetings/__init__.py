"""Meetings of elected bodies: agenda, attendance, quorum, floor control, video, documents."""
