"""The picture size an H.264 decoder reports, from the sequence parameter set in ``avcC``.

ISO/IEC 14496-15 §5.3.3 (``avcC``: version, profile, compatibility, level, NAL length size, then
the SPS count and each SPS with a 16-bit length) and ITU-T H.264 §7.3.2.1.1 (SPS syntax, Exp-Golomb
codes) and §7.4.2.1.1 (size = macroblocks × 16 less the cropping, in chroma units).

ffprobe reports the decoder's size, not the sample entry's; the two agree in every file ffmpeg
writes, so :mod:`vaar.curation.mp4.sample_entry` accepts an ``avc1`` entry only when they do. An SPS
this parser does not follow (scaling matrices, an unknown profile layout) is a
:class:`~vaar.curation.mp4.box.BoxError`.
"""

from __future__ import annotations

from vaar.curation.mp4.box import BoxError

HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
"""Profiles whose SPS carries chroma format and bit depths (H.264 §7.3.2.1.1)."""


class _Bits:
    """A bounded big-endian bit reader over an RBSP (emulation prevention removed)."""

    def __init__(self, data: bytes) -> None:
        self.value, self.size, self.pos = int.from_bytes(data, "big"), 8 * len(data), 0

    def u(self, n: int) -> int:
        if self.pos + n > self.size:
            raise BoxError("SPS cut short")
        self.pos += n
        return (self.value >> (self.size - self.pos)) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise BoxError("SPS: Exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _rbsp(nal: bytes) -> bytes:
    """The NAL payload without its emulation-prevention bytes (00 00 03 → 00 00)."""
    return nal.replace(b"\0\0\3", b"\0\0")


def first_sps(avcc: bytes) -> bytes:
    """The first SPS NAL unit of an ``avcC`` payload."""
    if len(avcc) < 8 or avcc[0] != 1 or avcc[5] & 0x1F == 0:
        raise BoxError("avcC without an SPS")
    length = int.from_bytes(avcc[6:8], "big")
    nal = avcc[8 : 8 + length]
    if len(nal) != length or not nal or nal[0] & 0x1F != 7:
        raise BoxError("avcC: not an SPS")
    return nal


def sps_picture_size(nal: bytes) -> tuple[int, int]:
    """(width, height) after cropping, from an SPS NAL unit."""
    b = _Bits(_rbsp(nal[1:]))
    profile = b.u(8)
    b.u(16)  # constraint flags, level
    b.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in HIGH_PROFILES:
        chroma = b.ue()
        separate = b.u(1) if chroma == 3 else 0
        chroma = 0 if separate else chroma
        b.ue(), b.ue(), b.u(1)  # bit depths, qpprime_y_zero_transform_bypass
        if b.u(1):
            raise BoxError("SPS with scaling matrices")
    b.ue()  # log2_max_frame_num_minus4
    _skip_poc(b)
    b.ue(), b.u(1)  # max_num_ref_frames, gaps_in_frame_num_allowed
    mbs_w, map_h = b.ue() + 1, b.ue() + 1
    frame_mbs_only = b.u(1)
    if not frame_mbs_only:
        b.u(1)  # mb_adaptive_frame_field
    b.u(1)  # direct_8x8_inference
    crop = (b.ue(), b.ue(), b.ue(), b.ue()) if b.u(1) else (0, 0, 0, 0)
    if chroma > 3:
        raise BoxError("SPS: chroma format")
    unit_x = 2 if chroma in (1, 2) else 1
    unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    width = mbs_w * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * map_h * 16 - unit_y * (crop[2] + crop[3])
    if width <= 0 or height <= 0:
        raise BoxError("SPS: cropped to nothing")
    return width, height


def _skip_poc(b: _Bits) -> None:
    poc_type = b.ue()
    if poc_type == 0:
        b.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        b.u(1), b.se(), b.se()  # delta_pic_order_always_zero, offsets
        cycle = b.ue()
        if cycle > 255:
            raise BoxError("SPS: pic order cycle too long")
        for _ in range(cycle):
            b.se()
    elif poc_type != 2:
        raise BoxError("SPS: pic order count type")
