"""A reference NEMT vendor: reads its ride requests from Kafka and answers through seeded acceptance, delays,
rejections and no-shows (`python -m services.transport.vendor_sim --vendor-id V1 --seed 7`).
"""

from .behaviour import Answer, VendorBehaviour, plan_answers
from .simulator import VendorSim

__all__ = ["Answer", "VendorBehaviour", "VendorSim", "plan_answers"]
