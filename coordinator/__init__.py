"""The Harmonia consortium coordinator (guidelines, enrollment, rounds): arriving in a later release."""
