"""Wiring: settings, the app factory with its lifespan, the engine built from the settings, the command line."""
