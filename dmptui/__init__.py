"""dmptui: a patient's terminal app for the shared medical record, and its reference host."""

__version__ = "0.1.0"
