"""The milter: missend inside Postfix or Sendmail, deciding each message before the MTA queues it.

The MTA keeps its own queue and delivery; missend answers with milter actions only: accept (with a
verdict header and, for a fix, rewritten To/Cc), quarantine into the MTA's hold queue, reject with the
reason, or tempfail. `release` needs no pymilter, so `missend hold release` loads without it.
"""

SOURCE = "milter"
"""The `source` stored with messages the milter held; names its releaser."""
