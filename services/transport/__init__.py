"""Transport: turns discharges and follow-ups into NEMT ride requests and tracks each ride."""
