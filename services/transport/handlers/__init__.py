"""Transport's use cases: discharges and visits into rides (cases.py), a ride's life (rides.py), vendors' updates
(updates.py), due deadlines (deadlines.py), the vendor registry and rebooking (registry.py).
"""
