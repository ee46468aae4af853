"""Self-diagnosis campaigns of member organisations: launching one on a published
methodology, the organisations' questionnaires (drafts, evidence, the signed
submission), the results with their charts and reports, and the agenda item made
from them. The methodology and scoring themselves are in :mod:`registry.diagnosis`."""
