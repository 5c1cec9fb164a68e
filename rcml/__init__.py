"""The document language: RCML parsed into verbs (parser.py, verbs/), fetched from the application
(documents.py, http.py, audio.py), run one verb after another by a session (session.py) against the one
interface a call offers its verbs (call_control.py). It never imports `calls`."""
