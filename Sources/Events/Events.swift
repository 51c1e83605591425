// The Events module; see README.md for its role.
