"""Reports the central writes for people: the shift handover (``shift``), as JSON, CSV or printable HTML."""
