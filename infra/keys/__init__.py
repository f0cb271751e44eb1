"""The operator's key-ring commands: `python -m infra.keys init|rotate` (`command`) on the rings' rules (`rings`)."""
