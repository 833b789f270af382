"""AWS access: the one client factory, the read/mutate classifier, one module per capability."""
