"""The project model: profiles learned from the production's dailies and small networks
trained only on them (``rushes learn``), plus effects taught by example (``rushes teach``).

Nothing here downloads weights or data: everything is learned from the project's own clips.
"""
