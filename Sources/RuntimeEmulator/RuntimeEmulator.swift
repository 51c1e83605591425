// The RuntimeEmulator module; see README.md for its role.
