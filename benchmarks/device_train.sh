#!/usr/bin/env bash
# Fine-tune the shipped model on a lent GPU machine, training files rendered there.
#
# By default it reproduces the training data of candidate 128 (rule 128,
# docs/segmentation.md; the config in benchmarks/models/candidate128.json): the
# thirty-nine generators' training cases (30 per generator: the fourteen at seeds 1000+,
# the others at 2000+) plus second landmark, slab, bloch and dixon folders (seeds
# 2030+), 7 frames each, and phantom training seeds 0-499,503-641, so the phantom keeps
# 41.4 % of the frames (candidate 109's data, rule 111, is GENERATORS without the
# bloch@2030 and dixon@2030 entries).  Cases are rendered with JOBS parallel processes, then
# benchmarks/train_default.py runs on CUDA.  Only the model and the logs are kept, under
# OUTDIR:
#
#     OUTDIR=$OUT/cand SEED=41 DEADLINE_S=540 bash benchmarks/device_train.sh
#
# (rule 91's call, twenty-two generators on one H200: render 249 s, data preparation
# 89 s, 600 steps 19 s.  A lent machine now has 15 minutes in all, its start included:
# docs/segmentation.md, "The next run, when a GPU is lent", says what fits.)
#
# Settings (environment): OUTDIR (required), SEED (training seed, 23), DEVICE (cuda),
# JOBS (render processes, 16), WORKERS (training data workers, 14), WORK (scratch
# folder, /tmp/devtrain), CASES (seeds per folder, 30), CHUNK (seeds per render
# process, 10), FRAMES (frames per rendered case in training, 7), PHANTOM_SEEDS (the
# phantom's training seeds, 0-499,503-641), TRAIN_MINUTES (--max-minutes, 4),
# DEADLINE_S (if set: seconds after the start by which training should end;
# --max-minutes is then cut to fit, allowing PREP_S, 150, for the data preparation),
# PY (python3), GENERATORS (which folders: NAME renders NAME's seeds from 1000 for the
# fourteen and from 2000 for the others, NAME@SEED0 a further folder of NAME from
# SEED0; default the forty-three folders above), and EXTRA (more train_default.py flags,
# e.g. --steps-per-epoch 500 for five times the steps, or a small --epochs for a trial).
# LIST_ONLY=1 prints the render jobs and the training data settings, and renders nothing.
set -u
: "${OUTDIR:?OUTDIR must name the folder for the model}"
SEED=${SEED:-23}; DEVICE=${DEVICE:-cuda}; JOBS=${JOBS:-16}; WORKERS=${WORKERS:-14}
WORK=${WORK:-/tmp/devtrain}; CASES=${CASES:-30}; CHUNK=${CHUNK:-10}; FRAMES=${FRAMES:-7}
PHANTOM_SEEDS=${PHANTOM_SEEDS:-0-499,503-641}
TRAIN_MINUTES=${TRAIN_MINUTES:-4}; PY=${PY:-python3}; EXTRA=${EXTRA:-}
FOURTEEN="alt spline field mesh coil landmark slab fourier massspring bloch defeco voxel radial dixon"
NEWER="patho lattice geodesic metaball medial levelset svf tps stream cascade atlas laplace sketch
conformal growth keyframe contact sdf skinning tube voronoi kspace sliding ssm texture"
GENERATORS=${GENERATORS:-$FOURTEEN $NEWER landmark@2030 slab@2030 bloch@2030 dixon@2030}
cd "$(dirname "$0")/.." || exit 2
mkdir -p "$WORK/gen" "$OUTDIR"
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# A GENERATORS entry's generator, first seed and folder name: NAME (the fourteen from
# 1000, the others from 2000, as in rules 84-111) or NAME@SEED0 (folder NAME_SEED0).
entry_parts() {
    local g=${1%@*} base folder=${1%@*}
    if [[ $1 == *@* ]]; then
        base=${1#*@}; folder="${g}_$base"
    else
        base=2000
        case " $FOURTEEN " in *" $g "*) base=1000;; esac
    fi
    echo "$g $base $folder"
}

# One line per render job: folder, generator, first seed, last seed.
jobs_list() {
    local g base folder
    for entry in $GENERATORS; do
        read -r g base folder < <(entry_parts "$entry")
        for ((s = 0; s < CASES; s += CHUNK)); do
            e=$(( s + CHUNK - 1 )); (( e >= CASES )) && e=$(( CASES - 1 ))
            echo "$folder $g $(( base + s )) $(( base + e ))"
        done
    done
}
if [[ -n "${LIST_ONLY:-}" ]]; then
    jobs_list
    echo "phantom seeds $PHANTOM_SEEDS, $FRAMES frames per rendered case"
    exit 0
fi
stamp "rendering $(jobs_list | wc -l) jobs with $JOBS processes"
jobs_list | xargs -P "$JOBS" -L 1 bash -c \
    "$PY benchmarks/\$1_generator.py --seeds \$2-\$3 --out $WORK/gen/\$0 --workers 1 \
     > $WORK/gen/\$0_\$2.log 2>&1 || echo \"render \$0 \$2-\$3 failed (exit \$?)\""
labelled=()
for entry in $GENERATORS; do
    read -r _ _ folder < <(entry_parts "$entry")
    n=$(find "$WORK/gen/$folder" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
    stamp "$entry: $n cases"
    (( n == CASES )) || { echo "error: $entry rendered $n of $CASES cases"; exit 3; }
    labelled+=(--labelled "$WORK/gen/$folder")
done

if [[ -n "${DEADLINE_S:-}" ]]; then
    left=$(( DEADLINE_S - ($(date +%s) - t0) - ${PREP_S:-150} ))
    fit=$(( left / 60 )); (( fit < 1 )) && fit=1
    (( fit < TRAIN_MINUTES )) && TRAIN_MINUTES=$fit
fi
stamp "training on $DEVICE (--max-minutes $TRAIN_MINUTES)"
# shellcheck disable=SC2086  # EXTRA holds several flags
$PY benchmarks/train_default.py --out "$WORK/run" --init-model default --seed "$SEED" \
    --device "$DEVICE" --workers "$WORKERS" --seeds "$PHANTOM_SEEDS" --anatomy-variation 1.0 \
    --variation-share 0.5 --t1-prob 0.5 --fat-suppressed-prob 0.4 --hysterectomy-prob 0.3 \
    --decoy-prob 0.3 --copy-prob 0.3 --lr 1e-4 --batch-size 12 --crop 192 --epochs 6 \
    --steps-per-epoch 100 --warmup-steps 20 --ghost-prob 0.2 "${labelled[@]}" \
    --labelled-frames "$FRAMES" --max-minutes "$TRAIN_MINUTES" $EXTRA --install "$OUTDIR"
rc=$?
stamp "training exit $rc"
exit $rc
