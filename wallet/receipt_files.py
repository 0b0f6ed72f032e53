"""A receipt file read by real parsers before it is kept: the only module that imports Pillow or pypdf.

- A photo (JPEG or PNG) is opened by Pillow, its size checked from the header before any pixel
  is decoded (a PNG can declare 50,000 x 50,000 pixels in a few hundred bytes: a decompression
  bomb), then decoded and written again from its pixels alone. What is kept is the new file: no
  EXIF (so no GPS position, no camera serial), no text chunks, no colour profile, nothing
  appended after the image.
- A PDF is opened by pypdf and every object in it is walked; one that can run or carry
  anything (JavaScript, an action on opening or on any event, a launch, an embedded or attached
  file, a form submission, rich media, XFA) is refused. A PDF is kept as it came, once read
  clean. An encrypted PDF cannot be read, so it is refused too.
- HEIC photos are refused: no parser here can read them (phones send JPEG when asked for an
  image by a web form).

Parsing is CPU work: :func:`checked` is called off the event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from wallet.errors import ReceiptRejected, ReceiptUnsafe

#: A photo's largest side and its most pixels (a 48-megapixel phone camera fits).
MAX_SIDE = 12_000
MAX_PIXELS = 50_000_000
#: A receipt PDF's most pages, and the most objects walked in it.
MAX_PAGES = 50
MAX_PDF_OBJECTS = 50_000

#: Keys that make a PDF do something when opened, clicked or printed, or carry another file.
FORBIDDEN_KEYS = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/OpenAction",
        "/AA",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/XFA",
    }
)
#: Action types (``/S``) that run code, open other files or send data.
FORBIDDEN_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/GoToE",
        "/GoToR",
        "/ImportData",
        "/SubmitForm",
        "/ResetForm",
        "/RichMediaExecute",
        "/Rendition",
        "/Sound",
        "/Movie",
    }
)


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What is kept: the content type and the bytes (a photo re-encoded, a PDF as it came)."""

    content_type: str
    content: bytes


def checked(content: bytes, content_type: str) -> CheckedFile:
    """The file to keep for a receipt sniffed as ``content_type``; ``ReceiptRejected`` or
    ``ReceiptUnsafe`` when it cannot be read or carries what a receipt must not."""
    if content_type in ("image/jpeg", "image/png"):
        return CheckedFile(content_type, _photo(content, content_type))
    if content_type == "application/pdf":
        _pdf(content)
        return CheckedFile(content_type, content)
    raise ReceiptRejected("a receipt must be a JPEG or PNG photo or a PDF (HEIC photos cannot be checked)")


# Photos ---------------------------------------------------------------------------------------


def _photo(content: bytes, content_type: str) -> bytes:
    fmt = "JPEG" if content_type == "image/jpeg" else "PNG"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content), formats=[fmt]) as image:
                _refuse_a_bomb(*image.size)
                image.load()
                return _reencoded(image, fmt)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ReceiptUnsafe("the photo declares more pixels than a receipt could have") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ReceiptRejected("the photo could not be read") from exc


def _refuse_a_bomb(width: int, height: int) -> None:
    if width < 1 or height < 1 or max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ReceiptUnsafe(
            f"the photo is {width} x {height} pixels; a receipt may be at most {MAX_SIDE} pixels a side "
            f"and {MAX_PIXELS // 1_000_000} megapixels"
        )


def _reencoded(image: Image.Image, fmt: str) -> bytes:
    """The pixels alone, turned upright as the camera said, in a new file with no metadata."""
    upright = ImageOps.exif_transpose(image) or image
    out = io.BytesIO()
    if fmt == "JPEG":
        upright.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    else:
        mode = upright.mode if upright.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else "RGBA"
        pixels = upright.convert(mode)
        pixels.info = {}
        pixels.save(out, format="PNG", optimize=False)
    return out.getvalue()


# PDFs -----------------------------------------------------------------------------------------


def _pdf(content: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted:
                raise ReceiptRejected("an encrypted PDF cannot be checked; save it without a password")
            if len(reader.pages) > MAX_PAGES:
                raise ReceiptRejected(f"a receipt PDF may have at most {MAX_PAGES} pages")
            _walk(reader)
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise ReceiptRejected("the PDF could not be read") from exc


def _walk(reader: PdfReader) -> None:
    """Every object reachable from the trailer, and every object the cross-reference lists."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        stack.extend(IndirectObject(number, generation, reader) for number in numbers)
    stack.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            raise ReceiptRejected("the PDF has more objects than a receipt could")
        if isinstance(item, DictionaryObject):
            _refuse_active(item)
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _refuse_active(dictionary: DictionaryObject) -> None:
    found = set(FORBIDDEN_KEYS.intersection(str(k) for k in dictionary))
    action = dictionary.get("/S")
    if isinstance(action, IndirectObject):
        action = action.get_object()
    if isinstance(action, NameObject) and str(action) in FORBIDDEN_ACTIONS:
        found.add(str(action))
    if found:
        raise ReceiptUnsafe(f"the PDF carries {', '.join(sorted(found))}: a receipt may not run or carry anything")
