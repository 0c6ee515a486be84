"""Learning each sender's normal: features, simulated mis-sends, and the misdirect model."""
