// The LambdaRuntime module; see README.md for its role.
