"""Performance bench: warm handler latency, AWS calls, cold starts, package size and local load.

Run with `make bench` (or `.venv/bin/python -m bench`). Nothing reaches AWS: warm runs use moto
in-process or botocore's Stubber, cold starts and load runs use the local stack on loopback.
"""
