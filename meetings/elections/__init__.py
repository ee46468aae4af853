"""Elections and secret questions of a body, and the counting commission that counts
them: the domain everything of secret ballots plugs into (the election key, the
encrypted vote and its count attach to these records).

Kept free of imports at package level: :mod:`meetings.votes` reads
:mod:`meetings.elections.commission` when a vote closes, and the services here open
votes through :mod:`meetings.votes`.
"""
