"""The Textual front end (issue 3)."""
