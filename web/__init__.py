"""Jinja2 templates, static assets and UI message catalogues (no Python logic)."""
