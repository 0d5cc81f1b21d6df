"""The production profile (see docs/production.md).

Python here: ``deploy.cluster`` runs the profile on one machine; ``deploy.tracker_store``
and ``deploy.lock_store`` are the tracker and lock stores the Rasa instances use (Rasa's
own, made to survive faults); ``deploy.rasa_serve`` starts ``rasa run``; ``deploy.audit``
runs the dependency audit.
"""
