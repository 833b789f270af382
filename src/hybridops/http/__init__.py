"""HTTP access: one client factory, gated like AWS calls."""
