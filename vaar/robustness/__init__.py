"""The robustness track: the clean score again, on corrupted test media.

Fixed, seeded corruptions at five severities (the protocol of ImageNet-C, Hendrycks & Dietterich,
ICLR 2019, and of Kinetics-C / the audio-visual robustness benchmarks after it) are applied to the
test split at evaluation time; nothing new is hosted or downloaded::

    registry.py   @register_corruption, get_corruption(name) (an unknown name lists the valid ones)
    video.py      frame transforms: low_light fog rain snow occlusion motion_blur defocus frame_drops
    audio.py      sample transforms: noise_white noise_babble reverb clipping telephone dropouts
    modality.py   audio_missing video_missing (frames/samples); compression av_shift (ffmpeg, media)
    media.py      a corrupted copy of a clip's media files (decode, transform, encode), cached
    extract.py    corrupted features of a trained run's backbones, cached by corruption/severity/seed
    plan.py       what a run will make and what the cache holds, with a rough time (shown first)
    scoring.py    run_robustness(): every corruption x severity scored with the task's metrics
    summary.py    mCF1 (flat, mPC-style) and balanced, rPC = mCF1/clean, the difference, group means
    rescore.py    --rescore of a block from its saved per-condition predictions
    heatmap.py    the corruption x severity heat map (PNG, matplotlib Agg)

Where a corruption is applied: always into a corrupted copy of the clip's files (one decode, the
corruption at each frame's presentation time or on the 16 kHz samples, one encode; ffmpeg for
``compression`` and ``av_shift``), cached persistently by clip, corruption, severity, seed and
VERSION. A trained run (``--run``) extracts its features from those files and a ``--model``
submission is given them, so both paths score bit-identical corrupted inputs.
"""
