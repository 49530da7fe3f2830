"""SMS providers behind one interface: simulator, Twilio-compatible webhooks/REST and SMPP.

The interface lives in ``base.py``; the durable outbound queue in ``outbox.py``; HTTP webhooks in
``routes.py``; configuration and the number -> provider binding in ``config.py`` / ``registry.py``.
Operator documentation: ``docs/providers.md``.
"""
