"""Relying parties that use the provider as real clients would."""
