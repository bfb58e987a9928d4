"""The WardPulse ward server.

Kept free of imports on purpose: the `wardpulse` entry point must be able to choose and
monkey-patch the async mode before Flask, Socket.IO or the standard library's sockets load.
"""
