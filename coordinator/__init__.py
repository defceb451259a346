"""The Harmonia consortium coordinator: guidelines, enrollment and rounds (a later release)."""
