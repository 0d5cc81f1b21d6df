"""Server entry points that must live outside the `actions` package (rasa_sdk imports every module in it)."""
