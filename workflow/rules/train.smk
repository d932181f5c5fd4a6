# One job per pack of runs still to train (fanin.plan.packing, planned in common.smk); a pack may hold one run.
# Each run trains and is measured in its deterministic folder with the files it would write alone.
TABLE_FILES = [f"{name}.parquet" for name in TABLES]
STUDY_TABLE_FILES = [*TABLE_FILES, *(f"{name}.parquet" for name in OPTIONAL_TABLES)]  # empty where no run has one

# The costliest packs start first: Snakemake's priority is their rank by cost (the costs are huge numbers).
for _priority, _members in enumerate(sorted(PACKS, key=cost)):
    _study, _pack = _members[0].study, pack_id([r.run_id for r in _members])

    rule:
        name:
            f"train_{_study}_{_pack}"
        output:
            [f"{run_dir(_study, r.run_id)}/{name}" for r in _members for name in ("summary.json", *TABLE_FILES)],
        params:
            python=PYTHON,
            runs=pack_arguments(_members),
        log:
            f"{RESULTS}/{_study}/logs/train/{_pack}.log",
        benchmark:
            f"{RESULTS}/{_study}/benchmarks/train/{_pack}.tsv"
        priority: _priority
        threads: config["threads"]
        resources:
            **pack_resources(_members, on_gpu=ACCELERATOR == "gpu"),
            **TRAIN_PARTITION,
            gpu=1 if ACCELERATOR == "gpu" else 0,
        conda:
            CONDA_ENV
        shell:
            "{params.python} -m fanin.train --threads {threads} {params.runs} > {log:q} 2>&1"

