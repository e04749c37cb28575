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
    scoring.py    run_robustness(): every corruption x severity scored with the task's metrics
    summary.py    mCF1 with its bootstrap interval, relative robustness, per-group means
    heatmap.py    the corruption x severity heat map (PNG, matplotlib Agg)

Where a corruption is applied: frame and sample corruptions run on the decoded frames / samples
inside feature extraction (no re-encode: the frames a backbone sees are exactly the corrupted
ones, and a pass costs a few ms more than a clean one); ``compression`` and ``av_shift`` are
properties of the encoded file, so they run through ffmpeg once per clip, severity and seed and
are cached. A ``--model`` submission gets media only, so there every corruption is written into
a corrupted copy of the clip's files (one decode, one encode), cached the same way.
"""
