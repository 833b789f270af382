"""Allow `python -m hybridops`."""

from hybridops.cli.main import main

if __name__ == "__main__":
    main()
