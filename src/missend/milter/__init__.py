"""The milter: missend inside Postfix or Sendmail, deciding each message before the MTA queues it.

The MTA keeps its own queue and delivery; missend answers with milter actions only: accept (with a
verdict header and, for a fix, rewritten To/Cc), quarantine into the MTA's hold queue, reject with the
reason, or tempfail. `release` needs no event loop, so `missend hold release` loads without the server.

Postfix (main.cf), with `missend serve milter` running on the same host:

    smtpd_milters = unix:/run/missend/milter.sock
    milter_protocol = 6
    milter_default_action = tempfail    # milter down: 451, the client retries (fail closed)

Services that talk to the socket must not be chrooted, and `missend hold release` must run where
`postsuper` can reach Postfix's queue (set MAIL_CONFIG for a non-default configuration directory).
Sendmail gets the same decisions and quarantine; releasing from Sendmail's quarantine is not
implemented (the releaser runs Postfix's postsuper).
"""

SOURCE = "milter"
"""The `source` stored with messages the milter held; names its releaser."""
