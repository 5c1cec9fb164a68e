"""Wiring: settings, the app factory with its lifespan, the command line, the runtime handlers reach."""
