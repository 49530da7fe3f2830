"""Use cases. ``check_*`` validates and authorizes, then calls ``do_*``; ``do_*`` loads, asks the domain,
persists through ``Runtime.commit`` and so publishes after commit. The only layer that knows store and bus."""
