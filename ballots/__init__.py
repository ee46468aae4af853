"""Votes, signed ballots, the bulletin board, tallies, receipts and the offline verifier."""
