"""Digital-maturity self-diagnosis of member organisations: the methodology (sections,
weighted questions, maturity levels), its XLSX and JSON forms, and scoring."""

from registry.diagnosis.methodology import (
    AnswerType,
    Choice,
    LevelBand,
    Methodology,
    MethodologyError,
    Question,
    Section,
)
from registry.diagnosis.scoring import AnswerError, Result, score

__all__ = [
    "AnswerError",
    "AnswerType",
    "Choice",
    "LevelBand",
    "Methodology",
    "MethodologyError",
    "Question",
    "Result",
    "Section",
    "score",
]
