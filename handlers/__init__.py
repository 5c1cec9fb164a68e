"""HTTP handlers, one module per resource; openapi.yaml names each operation's function."""
