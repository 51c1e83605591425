// The HTTP module; see README.md for its role.
