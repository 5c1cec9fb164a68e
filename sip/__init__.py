"""SIP: the only package that imports sippy (its reactor thread, legs, registrar) and what SIP addressing needs."""
