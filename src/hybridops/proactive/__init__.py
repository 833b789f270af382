"""Between incidents: alarms as code, maintenance windows, and whether this machine is ready."""
