"""The assistant's domain core: content catalogue, clinic profile, topic registry, reply
builder and red-flag triage.

It imports no Rasa module. ``actions/`` (the action server), ``components/`` (the NLU
pipeline) and ``channels/`` (the REST and socket.io input channels) are thin adapters that
import this package; nothing here imports them.
"""
