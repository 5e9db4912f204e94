"""The per-patient transition summary as a PDF a specialist can print or hand over."""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF

from .queries import CaseOut


def _latin1(text: str) -> str:
    # The core PDF fonts are Latin-1; anything else is replaced rather than failing the download.
    return text.encode("latin-1", errors="replace").decode("latin-1")


def summary_pdf(case: CaseOut, printed_at: datetime) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Recovery and transition summary")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Recovery and transition summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    when = case.discharge_at.strftime("%d %b %Y %H:%M") if case.discharge_at else "not yet known"
    pdf.multi_cell(
        0,
        7,
        _latin1(f"{case.patient or 'Patient'} - {case.facility_id or ''} - discharge {when}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "Plan", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for name, step in case.plan.items():
        details = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in step.details.items())
        line = f"{name.replace('_', ' ')}: {step.state.replace('_', ' ')}" + (f" ({details})" if details else "")
        pdf.multi_cell(0, 7, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "What happened", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for item in case.timeline:
        pdf.multi_cell(0, 6, _latin1(f"{item.time:%d %b %H:%M}  {item.type}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 9)
    pdf.cell(0, 6, f"Printed {printed_at:%d %b %Y %H:%M} UTC", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
