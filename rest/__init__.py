"""The `/api/v1` REST shim: thin routes over the services, in the spec's envelope."""
