"""HL7 v2 intake: ER7 parsing, ADT mapping, acknowledgements and the MLLP listener (docs/hl7v2.md)."""
