// The AWS module; see README.md for its role.
