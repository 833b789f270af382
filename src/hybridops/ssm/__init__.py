"""AWS Systems Manager: Automation documents run through hybridops' engine."""
