# One job per run: the Hydra app trains and measures it in its deterministic folder.
TABLE_FILES = [f"{name}.parquet" for name in TABLES]
STUDY_TABLE_FILES = [*TABLE_FILES, *(f"{name}.parquet" for name in OPTIONAL_TABLES)]  # empty where no run has one


rule train:
    output:
        summary=f"{RESULTS}/{{study}}/runs/{{run}}/summary.json",
        tables=[f"{RESULTS}/{{study}}/runs/{{run}}/{name}" for name in TABLE_FILES],
    params:
        python=PYTHON,
        overrides=run_overrides,
        run_dir=run_dir_override,
    log:
        f"{RESULTS}/{{study}}/logs/train/{{run}}.log",
    benchmark:
        f"{RESULTS}/{{study}}/benchmarks/train/{{run}}.tsv"
    threads: config["threads"]
    resources:
        mem_mb=run_resource("mem_mb", 2000),
        runtime=run_resource("runtime", 30),
        gpu=1 if ACCELERATOR == "gpu" else 0,
    conda:
        CONDA_ENV
    shell:
        "{params.python} -m fanin.train {params.overrides} threads={threads} {params.run_dir} > {log:q} 2>&1"
