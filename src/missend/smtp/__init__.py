"""The SMTP relay: missend as a smart host between mail clients and the next mail server."""
