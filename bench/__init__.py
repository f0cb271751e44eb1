"""`make bench`: what users pay for, measured in one run and printed as one table.

Cold starts, warm handler time, AWS calls, package size, and the local stack under load beside
the reference Express app. Nothing reaches AWS: moto answers in-process or from the embedded
endpoint on loopback.
"""
