// The Hugin module; see README.md for its role.
