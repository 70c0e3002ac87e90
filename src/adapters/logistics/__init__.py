"""Parcel tracking for shipping devices out and back."""
