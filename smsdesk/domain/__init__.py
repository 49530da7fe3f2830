"""The pure domain: state machines and value objects. No asyncio, no I/O, no SQL, no wall clock."""
