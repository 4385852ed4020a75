"""Identity: accounts, sessions (tokens), workspaces and members."""
