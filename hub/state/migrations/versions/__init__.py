"""The state store's schema revisions, oldest first: each keeps its own copy of what it makes."""
