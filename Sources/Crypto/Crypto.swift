// The Crypto module; see README.md for its role.
