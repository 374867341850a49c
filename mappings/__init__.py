"""Pure mapping functions between vendor payloads and the canonical model."""
