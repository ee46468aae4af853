"""Pure cryptographic primitives: standard library and PyNaCl only.

Nothing here may touch a clock, a network, a database or a web framework; the
auditor's offline verifier depends on this package alone.
"""
