"""Demo shop that uses shopai the way a real store would."""
