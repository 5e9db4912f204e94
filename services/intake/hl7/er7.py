"""ER7, HL7 v2's pipe-and-hat encoding: bytes to segments, fields, repetitions, components, and back.

HL7 v2.5 §2.5 (message construction) and §2.7 (escape sequences); the delimiters are read from each message's
MSH-1/MSH-2, never assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# A parsed field: repetitions → components → subcomponents, each leaf unescaped text.
Component = tuple[str, ...]
Repetition = tuple[Component, ...]
Field = tuple[Repetition, ...]

NULL = '""'  # HL7 v2.5 §2.5.3: two double quotes is an explicit null ("delete the value"), unlike an empty field.
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
HEADER_SEGMENTS = frozenset({"MSH", "BHS", "FHS"})  # segments whose fields 1 and 2 are the delimiters themselves
BATCH_SEGMENTS = frozenset({"FHS", "BHS", "BTS", "FTS"})
UTF8_BOM = b"\xef\xbb\xbf"

# HL7 table 0211 (alternate character sets, MSH-18) → Python codec. UTF-16/32 cannot carry ER7 delimiters as
# single bytes through MLLP, so they are refused rather than guessed.
CHARSETS = {
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "BIG-5": "big5",
    **{f"8859/{n}": f"iso8859-{n}" for n in (*range(1, 10), 15)},
}
REFUSED_CHARSETS = frozenset({"UNICODE UTF-16", "UNICODE UTF-32"})


class Er7Error(ValueError):
    """The bytes are not a usable ER7 message. The reason never quotes message content (it may be PHI).

    `header` holds the MSH segment alone when it was readable, so the acknowledgement can still echo MSH-10.
    """

    def __init__(self, reason: str, header: Message | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.header = header


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Field separator (MSH-1) and encoding characters (MSH-2); v2.7 adds the truncation character."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent + self.truncation

    @classmethod
    def read(cls, field_separator: str, encoding_characters: str) -> Delimiters:
        chars = encoding_characters
        if len(chars) == 5 and chars[2] == chars[3] == "\\":
            # "^~\\&": a sender's string escaping doubled the escape character (seen in the wild); the intent is plain.
            chars = chars[:3] + chars[4]
        if len(chars) not in (4, 5):
            raise Er7Error("MSH-2 must hold 4 encoding characters (5 with the v2.7 truncation character)")
        chosen = field_separator + chars
        if len(set(chosen)) != len(chosen):
            raise Er7Error("MSH-1 and MSH-2 delimiters must all differ")
        if any(c.isalnum() or c.isspace() or not c.isprintable() for c in chosen):
            raise Er7Error("delimiters must be printable, non-alphanumeric characters")
        return cls(field_separator, chars[0], chars[1], chars[2], chars[3], chars[4:])


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment. `fields[0]` is field 1 (for MSH: MSH-1, the field separator; MSH-2 is the encoding characters)."""

    name: str
    fields: tuple[Field, ...] = ()

    def field(self, position: int) -> Field:
        return self.fields[position - 1] if 0 < position <= len(self.fields) else ()

    def repetitions(self, position: int) -> tuple[Repetition, ...]:
        return self.field(position)

    def get(self, position: int, component: int = 1, subcomponent: int = 1, repetition: int = 1) -> str | None:
        """One value, stripped; None when empty or an explicit null."""
        reps = self.field(position)
        if not 0 < repetition <= len(reps):
            return None
        return component_value(reps[repetition - 1], component, subcomponent)

    def is_null(self, position: int) -> bool:
        """True when the sender sent `""`: the value was deleted (HL7 v2.5 §2.5.3)."""
        return self.field(position) == (((NULL,),),)

    @classmethod
    def build(cls, name: str, *fields: str | Field | None) -> Segment:
        """A segment from plain values (one component each) or structured fields; trailing None fields are left out."""
        values = list(fields)
        while values and values[-1] is None:
            values.pop()
        return cls(name, tuple(as_field(value) for value in values))


def component_value(repetition: Repetition, component: int = 1, subcomponent: int = 1) -> str | None:
    if not 0 < component <= len(repetition):
        return None
    subs = repetition[component - 1]
    if not 0 < subcomponent <= len(subs):
        return None
    value = subs[subcomponent - 1].strip()
    return None if value in ("", NULL) else value


def as_field(value: str | Field | None) -> Field:
    if value is None:
        return ((("",),),)
    if isinstance(value, str):
        return (((value,),),)
    return value


def components(*values: str | None) -> Field:
    """A one-repetition field of simple components, e.g. components("PV1", "1", "19") → PV1^1^19."""
    items = list(values)
    while items and not items[-1]:
        items.pop()  # no trailing empty components
    return (tuple((v or "",) for v in items) or (("",),),)


@dataclass(frozen=True, slots=True)
class Message:
    segments: tuple[Segment, ...]
    delimiters: Delimiters = field(default_factory=Delimiters)
    charset: str = "utf-8"

    @property
    def header(self) -> Segment:
        return self.segments[0]

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.name == name)


# --------------------------------------------------------------------------------------------------- parsing


def parse(raw: bytes) -> Message:
    """Parse one ER7 message. Raises only Er7Error, whatever the bytes."""
    text, charset = decode(raw)
    lines = [line.lstrip() for line in text.split("\r")]
    lines = [line for line in lines if line.strip()]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise Er7Error("does not start with an MSH segment")
    header_line = lines[0]
    encoding_characters, _, rest = header_line[4:].partition(header_line[3])
    delimiters = Delimiters.read(header_line[3], encoding_characters)
    header = _header_segment(rest if len(header_line) > 4 + len(encoding_characters) else None, delimiters)
    segments = [header]
    readable_header = Message((header,), delimiters, charset)
    for number, line in enumerate(lines[1:], start=2):
        name = line[:3]
        if not SEGMENT_ID.fullmatch(name) or (len(line) > 3 and line[3] != delimiters.field):
            raise Er7Error(f"segment {number} does not start with a segment id", readable_header)
        if name in HEADER_SEGMENTS:
            raise Er7Error(f"segment {number} is a second {name}: one message per frame, or a batch", readable_header)
        segments.append(_segment(name, line[4:], delimiters) if len(line) > 3 else Segment(name))
    return Message(tuple(segments), delimiters, charset)


def decode(raw: bytes) -> tuple[str, str]:
    """Bytes → text, by MSH-18 (HL7 table 0211); segment ends normalised to CR (HL7 v2.5 §2.5.1)."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    raw = raw.lstrip(b" \t\r\n\x00")
    declared = _declared_charset(raw)
    if declared in REFUSED_CHARSETS:
        raise Er7Error(f"MSH-18 character set {declared} is not supported over MLLP")
    codec = CHARSETS.get(declared or "", "")
    try:
        text = raw.decode(codec or "utf-8")
    except UnicodeDecodeError:
        if codec and codec != "ascii":
            raise Er7Error(f"the bytes are not valid {declared} as MSH-18 declares") from None
        # Undeclared (or mis-declared ASCII) and not UTF-8: ISO 8859-1 is the usual unlabelled charset.
        codec, text = "latin-1", raw.decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r"), codec or "utf-8"


def _declared_charset(raw: bytes) -> str | None:
    end = min((i for i in (raw.find(b"\r"), raw.find(b"\n")) if i >= 0), default=len(raw))
    line = raw[:end].decode("latin-1")
    if not line.startswith("MSH") or len(line) < 4:
        return None
    fields = line.split(line[3])
    if len(fields) <= 17 or len(fields[1]) < 2:
        return None
    component, repetition = fields[1][0], fields[1][1]
    first = fields[17].split(repetition, 1)[0].split(component, 1)[0].strip().upper()
    return first or None


def _header_segment(rest: str | None, d: Delimiters) -> Segment:
    """MSH-1 is the field separator and MSH-2 the encoding characters: neither is split nor unescaped."""
    fields = [(((d.field,),),), (((d.encoding_characters,),),)]
    if rest is not None:
        fields.extend(_field(text, d) for text in rest.split(d.field))
    return Segment("MSH", tuple(fields))


def _segment(name: str, body: str, d: Delimiters) -> Segment:
    return Segment(name, tuple(_field(text, d) for text in body.split(d.field)))


def _field(text: str, d: Delimiters) -> Field:
    # Split first, unescape last: an escaped delimiter (\S\, \T\ …) must never split.
    return tuple(
        tuple(tuple(unescape(sub, d) for sub in comp.split(d.subcomponent)) for comp in rep.split(d.component))
        for rep in text.split(d.repetition)
    )


def unescape(text: str, d: Delimiters) -> str:
    """HL7 v2.5 §2.7: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ (and v2.7 \\P\\), \\Xhh..\\, formatting and highlighting.

    Unterminated or unknown sequences are kept as sent: a sender that forgot to escape a backslash loses nothing.
    """
    if not d.escape or d.escape not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find(d.escape, i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        end = text.find(d.escape, start + 1)
        if end < 0:
            out.append(text[start:])
            break
        replacement = _escape_value(text[start + 1 : end], d)
        if replacement is None:
            # Unknown: keep the opening escape literally and rescan from the next character.
            out.append(d.escape)
            i = start + 1
            continue
        out.append(replacement)
        i = end + 1
    return "".join(out)


def _escape_value(code: str, d: Delimiters) -> str | None:
    simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": d.escape}
    if d.truncation:
        simple["P"] = d.truncation
    if code in simple:
        return simple[code]
    if code in ("H", "N"):
        return ""  # highlighting on/off: no plain-text equivalent
    if code.startswith(".") and re.fullmatch(r"\.(br|sp|fi|nf|in|ti|sk|ce)[+-]?\d*", code):
        return "\n" if code[1:3] in ("br", "sp") else ""  # HL7 v2.5 §2.7.6 formatted text: keep line breaks
    if code[:1] == "X" and len(code) > 1 and len(code) % 2 == 1 and re.fullmatch(r"[0-9A-Fa-f]+", code[1:]):
        data = bytes.fromhex(code[1:])  # HL7 v2.5 §2.7.4: the bytes' meaning follows the message character set
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    if code[:1] in ("C", "M", "Z") and len(code) > 1:
        return ""  # character-set switches and locally defined sequences carry no text of their own
    return None


# --------------------------------------------------------------------------------------------------- batches


def is_batch(raw: bytes) -> bool:
    return raw.removeprefix(UTF8_BOM).lstrip(b" \t\r\n")[:3] in (b"FHS", b"BHS")


def batch_messages(raw: bytes) -> list[bytes]:
    """The messages of an FHS/BHS batch (HL7 v2.5 §2.10.3), each as its own bytes; batch envelopes dropped.

    Splitting on bytes is safe: every supported character set keeps CR, LF and 'MSH' single-byte ASCII.
    """
    body = raw.removeprefix(UTF8_BOM).replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    messages: list[list[bytes]] = []
    for line in body.split(b"\r"):
        stripped = line.lstrip()
        if not stripped.strip() or stripped[:3].decode("latin-1") in BATCH_SEGMENTS:
            continue
        if stripped.startswith(b"MSH"):
            messages.append([stripped])
        elif messages:
            messages[-1].append(stripped)
        else:
            raise Er7Error("batch holds a segment before its first MSH")
    return [b"\r".join(lines) + b"\r" for lines in messages]


# --------------------------------------------------------------------------------------------------- encoding


def escape(text: str, d: Delimiters) -> str:
    """Inverse of `unescape` for plain text; CR and LF become hex escapes since they would end the segment."""
    table = {
        d.escape: f"{d.escape}E{d.escape}",
        d.field: f"{d.escape}F{d.escape}",
        d.component: f"{d.escape}S{d.escape}",
        d.subcomponent: f"{d.escape}T{d.escape}",
        d.repetition: f"{d.escape}R{d.escape}",
        "\r": f"{d.escape}X0D{d.escape}",
        "\n": f"{d.escape}X0A{d.escape}",
    }
    if d.truncation:
        table[d.truncation] = f"{d.escape}P{d.escape}"
    return "".join(table.get(c, c) for c in text)


def encode_field(value: Field, d: Delimiters) -> str:
    return d.repetition.join(
        d.component.join(d.subcomponent.join(escape(sub, d) for sub in comp) for comp in rep) for rep in value
    )


def encode_segment(segment: Segment, d: Delimiters) -> str:
    if segment.name in HEADER_SEGMENTS:
        rest = segment.fields[2:]
        return segment.name + d.field + d.encoding_characters + "".join(d.field + encode_field(f, d) for f in rest)
    return segment.name + "".join(d.field + encode_field(f, d) for f in segment.fields)


def encode(segments: Iterable[Segment], d: Delimiters) -> str:
    """ER7 text, each segment ended by CR. Header segments take MSH-1/MSH-2 from `d`, not from their fields."""
    return "".join(encode_segment(s, d) + "\r" for s in segments)
