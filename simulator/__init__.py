"""FieldWatch simulator: field devices speaking the real protocols, with scripted scenarios."""
