// Control logic; see README.md.
