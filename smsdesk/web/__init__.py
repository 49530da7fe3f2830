"""The browser UI: agent desktop (``/``) and supervisor console (``/supervisor``), static files only.

The pages are plain HTML/CSS/ES modules under ``static/`` built on the public GWS API (REST + CometD); the
CometD client comes from the npm ``cometd`` package installed into ``node_modules/`` by ``make web-deps`` in a
source tree; the wheel carries that directory (``hatch_build.py`` runs ``npm ci`` at build time).
Routes are in ``routes.py``; what the UI does and how it uses the API is in ``docs/ui.md``.
"""
