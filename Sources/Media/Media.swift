// The Media module; see README.md for its role.
