"""Resource: links the patient with community resources and closes the referral loop."""
