"""The sample entry of an MP4 track (``stsd``): which codec, the picture size, the audio format.

ISO/IEC 14496-12 §12.1.3 (visual sample entry: width and height after 24 bytes), §12.2.3 (audio
sample entry: channel count, sample rate in 16.16 after 8 bytes of version and vendor), and
ISO/IEC 14496-1 §7.2.6 / 14496-3 §1.6.2 for the ``esds`` descriptors that carry AAC's
AudioSpecificConfig. The codec names are ffprobe's.

Only what the caller can vouch for is accepted: one sample entry, a video codec of
:data:`VIDEO_CODECS` with its decoder configuration (for H.264, a sequence parameter set whose
picture size is the entry's: :mod:`vaar.curation.mp4.avc`), and for audio plain AAC (object type 2, LC) whose configuration agrees with
the sample entry's rate. HE-AAC and its relatives (a decoder reports another rate), a channel layout
given by a program config element, QuickTime sound entries: :class:`BoxError`, ask ffprobe.
"""

from __future__ import annotations

import struct

from vaar.curation.mp4.avc import first_sps, sps_picture_size
from vaar.curation.mp4.box import Box, BoxError, children

VIDEO_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc", b"vp09": "vp9"}
"""Video sample entries and the name ffprobe gives their codec."""
CONFIG_BOXES = {"h264": b"avcC", "hevc": b"hvcC", "vp9": b"vpcC"}
"""The decoder configuration box each video codec needs."""
AAC_OBJECT_TYPES = frozenset({0x40, 0x66, 0x67, 0x68})
"""``esds`` object type indications of AAC (MPEG-4 audio, the MPEG-2 AAC profiles)."""
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
AAC_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8}
"""AAC channel configuration → channels (0, a program config element, is not read)."""
AAC_SYNC_EXTENSION = 0x2B7  # ffmpeg's encoder appends it with "no SBR"


def sample_entry(buf: bytes, stsd: Box) -> Box:
    """The one sample entry of ``stsd``."""
    if stsd.size < 8:
        raise BoxError("stsd box too small")
    (n,) = struct.unpack_from(">I", buf, stsd.start + 4)
    entries = list(children(buf, stsd.start + 8, stsd.end))
    if n != 1 or len(entries) != 1 or entries[0].size < 8:
        raise BoxError("not exactly one sample entry")
    if struct.unpack_from(">H", buf, entries[0].start + 6)[0] != 1:
        raise BoxError("a sample entry that is not the track's one data reference")
    return entries[0]


def video_entry(buf: bytes, entry: Box) -> tuple[str, int, int]:
    """(codec, width, height) of a visual sample entry."""
    codec = VIDEO_CODECS.get(entry.type)
    if codec is None:
        raise BoxError(f"video codec {entry.type!r}")
    if entry.size < 78:
        raise BoxError("visual sample entry too small")
    width, height = struct.unpack_from(">HH", buf, entry.start + 24)
    config = [b for b in children(buf, entry.start + 78, entry.end) if b.type == CONFIG_BOXES[codec]]
    if len(config) != 1:
        raise BoxError(f"{entry.type!r} without one decoder configuration")
    if codec == "h264":  # the decoder's size, which ffprobe reports, must be the entry's
        avcc = buf[config[0].start : config[0].end]
        if sps_picture_size(first_sps(avcc)) != (width, height):
            raise BoxError("the SPS and the sample entry disagree on the picture size")
    if not width or not height:
        raise BoxError("a picture without a size")
    return codec, width, height


def aac_entry(buf: bytes, entry: Box) -> tuple[int, int]:
    """(sample rate, channels) of an ``mp4a`` entry holding plain AAC."""
    if entry.type != b"mp4a" or entry.size < 28:
        raise BoxError(f"audio codec {entry.type!r}")
    # the entry's channel count is a template (MP4 writers put 2): the configuration says
    version, rate = struct.unpack_from(">H14xI", buf, entry.start + 8)
    if version != 0:
        raise BoxError("QuickTime sound sample entry")
    esds = [b for b in children(buf, entry.start + 28, entry.end) if b.type == b"esds"]
    if len(esds) != 1:
        raise BoxError("mp4a without one esds")
    asc_rate, asc_channels = _audio_specific_config(_esds_config(buf, esds[0]))
    if asc_rate != rate >> 16:
        raise BoxError("the AAC configuration and the sample entry disagree")
    return asc_rate, asc_channels


def _descriptor(buf: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """(payload start, payload end) of the descriptor of ``tag`` at ``p``."""
    if p >= end or buf[p] != tag:
        raise BoxError(f"esds: descriptor {tag} expected")
    p, length = p + 1, 0
    for _ in range(4):
        if p >= end:
            raise BoxError("esds cut short")
        length, more, p = (length << 7) | (buf[p] & 0x7F), buf[p] & 0x80, p + 1
        if not more:
            break
    else:
        raise BoxError("esds: descriptor length too long")
    if p + length > end:
        raise BoxError("esds: descriptor past its box")
    return p, p + length


def _esds_config(buf: bytes, esds: Box) -> bytes:
    """The AudioSpecificConfig of an AAC ``esds``."""
    if esds.size < 4 or buf[esds.start] != 0:
        raise BoxError("esds version")
    p, end = _descriptor(buf, esds.start + 4, esds.end, 0x03)  # ES_Descriptor
    if p + 3 > end:
        raise BoxError("esds cut short")
    flags, p = buf[p + 2], p + 3
    p += 2 if flags & 0x80 else 0  # dependsOn_ES_ID
    p += 1 + buf[p] if flags & 0x40 and p < end else 0  # URL
    p += 2 if flags & 0x20 else 0  # OCR_ES_ID
    p, end = _descriptor(buf, p, end, 0x04)  # DecoderConfigDescriptor
    if p + 13 > end or buf[p] not in AAC_OBJECT_TYPES:
        raise BoxError("esds: not AAC")
    p, end = _descriptor(buf, p + 13, end, 0x05)  # DecoderSpecificInfo
    return buf[p:end]


def _audio_specific_config(asc: bytes) -> tuple[int, int]:
    """(sample rate, channels) of an AAC-LC AudioSpecificConfig; anything else is refused."""
    if len(asc) not in (2, 5):
        raise BoxError("AudioSpecificConfig of an unexpected length")
    bits = int.from_bytes(asc, "big")
    nbits = 8 * len(asc)

    def field(at: int, width: int) -> int:
        return (bits >> (nbits - at - width)) & ((1 << width) - 1)

    object_type, rate_index, config = field(0, 5), field(5, 4), field(9, 4)
    depends_on_core = field(14, 1)
    if object_type != 2 or rate_index >= len(AAC_RATES) or config not in AAC_CHANNELS or depends_on_core:
        raise BoxError("not plain AAC-LC")
    # 16 bits of GASpecificConfig and padding; then, in 5 bytes, a sync extension saying "no SBR"
    if len(asc) == 5 and (field(16, 11), field(27, 5), field(32, 1)) != (AAC_SYNC_EXTENSION, 5, 0):
        raise BoxError("AudioSpecificConfig with an extension")
    return AAC_RATES[rate_index], AAC_CHANNELS[config]
