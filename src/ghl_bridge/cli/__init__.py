"""The ``ghl-bridge`` command line. Thin: parse, call the runtime, print."""
