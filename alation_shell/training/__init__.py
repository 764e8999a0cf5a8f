"""Training and demos: the virtual clock, simulated catalog activity, walkthroughs."""
