// The Munin module; see README.md for its role.
