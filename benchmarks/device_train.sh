#!/usr/bin/env bash
# Fine-tune the shipped model on a lent GPU machine, training files rendered there.
#
# Rule 91's command (docs/segmentation.md): the twenty-two generators' training cases
# (30 per generator, the same seeds as on the CPU) rendered with JOBS parallel processes,
# then benchmarks/train_default.py with stage 19's recipe on CUDA.  Only the model and
# the logs are kept, under OUTDIR:
#
#     OUTDIR=$OUT/cand85 SEED=23 CHUNK=5 DEADLINE_S=420 bash benchmarks/device_train.sh
#
# (rule 91's call, on one H200: render 249 s, data preparation 89 s, 600 steps 19 s).
#
# Settings (environment): OUTDIR (required), SEED (training seed, 23), DEVICE (cuda),
# JOBS (render processes, 16), WORKERS (training data workers, 14), WORK (scratch
# folder, /tmp/devtrain), CASES (seeds per generator, 30), CHUNK (seeds per render
# process, 10), TRAIN_MINUTES (--max-minutes, 4), DEADLINE_S (if set: seconds after the
# start by which training should end; --max-minutes is then cut to fit, allowing
# PREP_S, 150, for the data preparation), PY (python3), GENERATORS (which generators;
# default all twenty-two), and EXTRA (more train_default.py flags, e.g. a small
# --epochs for a trial run).
set -u
: "${OUTDIR:?OUTDIR must name the folder for the model}"
SEED=${SEED:-23}; DEVICE=${DEVICE:-cuda}; JOBS=${JOBS:-16}; WORKERS=${WORKERS:-14}
WORK=${WORK:-/tmp/devtrain}; CASES=${CASES:-30}; CHUNK=${CHUNK:-10}
TRAIN_MINUTES=${TRAIN_MINUTES:-4}; PY=${PY:-python3}; EXTRA=${EXTRA:-}
FOURTEEN="alt spline field mesh coil landmark slab fourier massspring bloch defeco voxel radial dixon"
NEWER="patho lattice geodesic metaball medial levelset svf tps"
GENERATORS=${GENERATORS:-$FOURTEEN $NEWER}
cd "$(dirname "$0")/.." || exit 2
mkdir -p "$WORK/gen" "$OUTDIR"
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# One line per render job: generator, first seed, last seed (the fourteen at 1000+,
# the newer ones at 2000+, as in rules 84-91).
jobs_list() {
    for g in $GENERATORS; do
        base=2000
        case " $FOURTEEN " in *" $g "*) base=1000;; esac
        for ((s = 0; s < CASES; s += CHUNK)); do
            e=$(( s + CHUNK - 1 )); (( e >= CASES )) && e=$(( CASES - 1 ))
            echo "$g $(( base + s )) $(( base + e ))"
        done
    done
}
stamp "rendering $(jobs_list | wc -l) jobs with $JOBS processes"
jobs_list | xargs -P "$JOBS" -L 1 bash -c \
    "$PY benchmarks/\$0_generator.py --seeds \$1-\$2 --out $WORK/gen/\$0 --workers 1 \
     > $WORK/gen/\$0_\$1.log 2>&1 || echo \"render \$0 \$1-\$2 failed (exit \$?)\""
labelled=()
for g in $GENERATORS; do
    n=$(find "$WORK/gen/$g" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
    stamp "$g: $n cases"
    (( n == CASES )) || { echo "error: $g rendered $n of $CASES cases"; exit 3; }
    labelled+=(--labelled "$WORK/gen/$g")
done

if [[ -n "${DEADLINE_S:-}" ]]; then
    left=$(( DEADLINE_S - ($(date +%s) - t0) - ${PREP_S:-150} ))
    fit=$(( left / 60 )); (( fit < 1 )) && fit=1
    (( fit < TRAIN_MINUTES )) && TRAIN_MINUTES=$fit
fi
stamp "training on $DEVICE (--max-minutes $TRAIN_MINUTES)"
# shellcheck disable=SC2086  # EXTRA holds several flags
$PY benchmarks/train_default.py --out "$WORK/run" --init-model default --seed "$SEED" \
    --device "$DEVICE" --workers "$WORKERS" --seeds 0-499 --anatomy-variation 1.0 \
    --variation-share 0.5 --t1-prob 0.5 --fat-suppressed-prob 0.4 --hysterectomy-prob 0.3 \
    --decoy-prob 0.3 --copy-prob 0.3 --lr 1e-4 --batch-size 12 --crop 192 --epochs 6 \
    --steps-per-epoch 100 --warmup-steps 20 --ghost-prob 0.2 "${labelled[@]}" \
    --labelled-frames 10 --max-minutes "$TRAIN_MINUTES" $EXTRA --install "$OUTDIR"
rc=$?
stamp "training exit $rc"
exit $rc
