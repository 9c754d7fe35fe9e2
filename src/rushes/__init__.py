"""rushes: learn a production from its own dailies and help fix its footage."""
