"""Measuring missend on real mail: false warnings on clean mail, catches of simulated mis-sends."""
