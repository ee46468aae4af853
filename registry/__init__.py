"""The member registry: organisations, members, elected bodies, seats, keys and cards."""
