"""JSON Schemas of the API description (``smsdesk/api/openapi.py``): request bodies (``bodies.py``), answers
(``envelopes.py``) and CometD's Bayeux messages (``bayeux.py``), as pydantic models. They describe what the
handlers accept; the handlers do not parse with them (``tests/api/test_openapi.py`` keeps the two in step)."""
