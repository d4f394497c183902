"""Schedule types: one module each, behind the interface in `base` and the list in `registry`."""
