"""baclofen-cds."""
