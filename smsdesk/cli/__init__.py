"""The ``smsdesk`` command line."""
