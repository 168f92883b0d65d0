"""A product model shopai has never seen, shaped differently from the demo store's."""
