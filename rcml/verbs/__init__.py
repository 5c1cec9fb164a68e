"""The RCML verbs, one module each (play.py, say.py, pause.py, hangup.py, reject.py, redirect.py, gather.py,
record.py, dial.py, conference.py for <Dial><Conference>), what they share (base.py), and the table that makes a
verb from a document node (table.py)."""
