"""`wardpulse bench`: how fast and how big the ward server is on this machine, next to raw baselines.

The benchmark starts its own servers as subprocesses on temporary data dirs and drives them over
real websockets with python-socketio clients, as ward tablets and screens do. Every speed number is
shown next to a baseline measured in the same run (mostly a bare Flask-SocketIO app on the same
stack and async mode, driven by the same client code), as a ratio.

plan (what a run is), servers (the processes and data dirs), load (the client worker program),
bare (the baseline server program), report (the table) and run (the measurements). This package
imports nothing itself: the bare stack must choose its async mode before anything loads.
"""
