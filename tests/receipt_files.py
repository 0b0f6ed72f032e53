"""Receipt files built in the test itself: real photos and PDFs, and malicious ones.

Photos are drawn with Pillow; PDFs are written object by object with a correct
cross-reference table, so each carries exactly what the test puts in it.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(label: str = "", *, size: tuple[int, int] = (24, 16)) -> bytes:
    """A real PNG; a different ``label`` gives a different file (a different fingerprint)."""
    image = Image.new("RGB", size, (250, 250, 245))
    for x, byte in enumerate(label.encode()[: size[0] * size[1]]):
        image.putpixel((x % size[0], x // size[0]), (byte, 255 - byte, 7))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg(label: str = "", *, exif: bytes | None = None) -> bytes:
    """A real JPEG, with ``exif`` (raw EXIF bytes from :func:`gps_exif`) when given."""
    image = Image.new("RGB", (32, 24), (240, 240, 230))
    for x, byte in enumerate(label.encode()[:32]):
        image.putpixel((x, 0), (byte, 0, 255 - byte))
    out = io.BytesIO()
    image.save(out, format="JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def gps_exif() -> bytes:
    """EXIF naming a camera and a position (Exeter, 50.7236 N 3.5275 W)."""
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0110] = "Model-GPS-42"  # Model
    exif[0x8825] = {  # the GPS IFD
        1: "N",
        2: (50.0, 43.0, 25.0),
        3: "W",
        4: (3.0, 31.0, 39.0),
    }
    return exif.tobytes()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG a few hundred bytes long whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def pdf(*, catalog_extra: str = "", page_extra: str = "", extra_objects: tuple[str, ...] = ()) -> bytes:
    """A one-page PDF; ``catalog_extra``/``page_extra`` are written into those dictionaries, and
    ``extra_objects`` become objects 4, 5, … (refer to them as ``4 0 R``)."""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] {page_extra} >>",
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


#: A PDF whose document names carry JavaScript (run by a viewer on opening).
PDF_WITH_JS = pdf(
    catalog_extra="/Names << /JavaScript 4 0 R >>",
    extra_objects=("<< /Names [(x) 5 0 R] >>", "<< /S /JavaScript /JS (app.alert\\('pwned'\\);) >>"),
)
#: A PDF whose opening action is JavaScript.
PDF_OPENING_WITH_JS = pdf(catalog_extra="/OpenAction << /S /JavaScript /JS (this.print\\(\\);) >>")
#: A PDF carrying another file.
PDF_WITH_EMBEDDED_FILE = pdf(
    catalog_extra="/Names << /EmbeddedFiles 4 0 R >>",
    extra_objects=(
        "<< /Names [(invoice.exe) 5 0 R] >>",
        "<< /Type /Filespec /F (invoice.exe) /EF << /F 6 0 R >> >>",
        "<< /Type /EmbeddedFile /Length 5 >>\nstream\nMZ\x90\x00\x03\nendstream",
    ),
)
#: A PDF whose page launches a program when opened.
PDF_LAUNCHING = pdf(page_extra="/AA << /O << /S /Launch /F (cmd.exe) >> >>")
#: A PDF whose link names its action in hex escapes (``/J#61vaScript``), to hide it from a byte search.
PDF_WITH_HIDDEN_JS = pdf(
    page_extra="/Annots [4 0 R]",
    extra_objects=("<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /J#61vaScript /J#53 (1) >> >>",),
)
