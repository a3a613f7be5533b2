"""Lambda entry points: thin, each parses its event, calls the library and reports."""
