"""HTTP transport: parse → call one action → serialise. No SQL and no business rule here."""
