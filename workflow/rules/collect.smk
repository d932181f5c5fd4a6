# A study's runs concatenated into its tables, one column per run axis and its grid block, plus summary.csv.


# The study's run table (fanin.plan.studies.run_table): each run's folder, grid block and axis values as the study
# wrote them, the rows the collection joins on. Written from the DAG's own run table, so it changes exactly
# when the study's runs do (Snakemake's params trigger).
rule run_table:
    output:
        f"{RESULTS}/{{study}}/run_table.json",
    params:
        rows=lambda w: json.dumps(run_table(list(RUNS[w.study].values()))),
    log:
        f"{RESULTS}/{{study}}/logs/run_table.log",
    localrule: True
    run:
        write_run_table(json.loads(params.rows), output[0], log[0])


rule collect:
    input:
        summaries=lambda w: [f"{run_dir(w.study, run)}/summary.json" for run in study_runs(w.study)],
        run_table=f"{RESULTS}/{{study}}/run_table.json",
    output:
        tables=[f"{RESULTS}/{{study}}/tables/{name}" for name in STUDY_TABLE_FILES],
        summary=f"{RESULTS}/{{study}}/tables/summary.csv",
    params:
        python=PYTHON,
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
        "{params.python} -m fanin.collect --runs-dir {params.runs_dir:q} --run-table {input.run_table:q} "
        "--out {params.out:q} > {log:q} 2>&1"
