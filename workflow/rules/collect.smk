# A study's runs concatenated into its tables, one column per run axis, plus summary.csv.


rule collect:
    input:
        lambda w: [f"{run_dir(w.study, run)}/summary.json" for run in study_runs(w.study)],
    output:
        tables=[f"{RESULTS}/{{study}}/tables/{name}" for name in STUDY_TABLE_FILES],
        summary=f"{RESULTS}/{{study}}/tables/summary.csv",
    params:
        python=PYTHON,
        runs=lambda w: " ".join(shlex.quote(run) for run in study_runs(w.study)),
        runs_dir=lambda w: f"{RESULTS}/{w.study}/runs",
        out=lambda w: f"{RESULTS}/{w.study}/tables",
    log:
        f"{RESULTS}/{{study}}/logs/collect.log",
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        CONDA_ENV
    shell:
        "{params.python} -m fanin.collect --runs-dir {params.runs_dir:q} --out {params.out:q} {params.runs} > {log:q} 2>&1"
