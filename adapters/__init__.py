"""Platform adapters: everything one platform means, behind the small interface in `adapters.base`."""
