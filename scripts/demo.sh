#!/usr/bin/env bash
# `make demo`: the whole suite on the embedded sample, offline, through the real commands.
#   1. vaar build --sample        generate ten classes of clips, serve them on 127.0.0.1, build
#   2. vaar-bench features        hand-crafted audio and video features (offline backbones)
#   3. vaar-bench train           AVAR-Net (early fusion), audio-only, video-only, late fusion
#   4. vaar-bench submit --model  score each trained model on the test split, measured cost
#   5. print the leaderboard      fusion separates all ten classes; each modality alone cannot
set -euo pipefail
BIN=${BIN:-.venv/bin}
OUT=${OUT:-demo}
SEEDS=${SEEDS:-0}

# per-stage wall and CPU time (the children's user + system time, Linux /proc)
STAGES=()
child_cpu() {  # CPU seconds of this shell's finished children (cutime + cstime of /proc/PID/stat)
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($14 + $15) / hz }' "/proc/$$/stat"
}
stage() {  # stage NAME CMD...: run CMD, record its wall and CPU time under NAME
    local name=$1 t0 c0
    shift
    t0=$(date +%s.%N) c0=$(child_cpu)
    "$@"
    STAGES+=("$(awk -v n="$name" -v t0="$t0" -v t1="$(date +%s.%N)" -v c0="$c0" -v c1="$(child_cpu)" \
        'BEGIN { printf "%-28s %8.1f %8.1f", n, t1 - t0, c1 - c0 }')")
}
stage_table() {
    local t1 c1
    t1=$(date +%s.%N) c1=$(child_cpu)
    printf '\n=== where the time went (wall and CPU seconds per stage; CPU counts child processes) ===\n'
    printf '%-28s %8s %8s\n' stage wall cpu
    printf '%s\n' "${STAGES[@]}"
    awk -v t0="$DEMO_T0" -v t1="$t1" -v c1="$c1" 'BEGIN { printf "%-28s %8.1f %8.1f\n", "total", t1 - t0, c1 }'
}
DEMO_T0=$(date +%s.%N)

stage build "$BIN/vaar" build --sample --out "$OUT"  # --workers: one per usable CPU
stage features "$BIN/vaar-bench" features --dataset "$OUT/dataset" --out "$OUT/features" --segments 16 \
    --audio-backbone handcrafted-audio --video-backbone handcrafted-video --threads 1
rm -rf "$OUT/leaderboard"
mkdir -p "$OUT/meta"
MODELS=(avarnet audio_only video_only late_fusion)
# one process trains all four (torch is imported once); 12 epochs: on the sample every model
# reaches its best validation accuracy by epoch 7 (fusion 1.0, audio alone 0.5)
CONFIGS=()
for model in "${MODELS[@]}"; do CONFIGS+=(--config "baselines/$model.yaml"); done
stage "train (4 models)" "$BIN/vaar-bench" train "${CONFIGS[@]}" \
    --dataset "$OUT/dataset" --features "$OUT/features" --out "$OUT/runs" \
    --epochs 12 --batch-size 8 --lr 0.003 --seeds "$SEEDS" --threads 1
modalities() { case "$1" in audio_only) echo "[audio]";; video_only) echo "[video]";; *) echo "[audio, video]";; esac; }
for model in "${MODELS[@]}"; do
    printf 'modalities: %s\nnotes: baseline trained on the embedded sample (hand-crafted features)\n' \
        "$(modalities "$model")" > "$OUT/meta/$model.yaml"
    # latency: the median of 4 clips timed one by one is enough for the demo (the default is 16)
    # absolute: the model runs in its own sandboxed home folder, not in this one
    VAAR_BASELINE_RUN="$(cd "$OUT/runs/$model" && pwd)" stage "submit $model" "$BIN/vaar-bench" submit \
        --model vaar.baselines.serve:from_run --name "$model (sample)" \
        --dataset "$OUT/dataset" --split test --leaderboard "$OUT/leaderboard" --replace \
        --meta "$OUT/meta/$model.yaml" --latency-clips 4
done
echo
echo "=== $OUT/leaderboard/LEADERBOARD.md (open $OUT/leaderboard/index.html in a browser) ==="
cat "$OUT/leaderboard/LEADERBOARD.md"
echo
echo "dataset: $OUT/dataset   load it: python -c \"import datasets; print(datasets.load_dataset('$OUT/dataset'))\""
stage_table
