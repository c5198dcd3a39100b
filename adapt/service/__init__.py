"""The HTTP service around `recommend()` and its demo page (see `adapt serve`)."""
