"""HTTP handlers: thin, they parse, call a domain service and render."""
