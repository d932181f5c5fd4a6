# Each figure is drawn from its study's tables alone: `snakemake <figure>.pdf` never re-trains.


rule figure:
    input:
        tables=[f"{RESULTS}/{{study}}/tables/{name}" for name in STUDY_TABLE_FILES],
        summary=f"{RESULTS}/{{study}}/tables/summary.csv",
    output:
        pdf=f"{RESULTS}/{{study}}/figures/{{figure}}.pdf",
        png=report(
            f"{RESULTS}/{{study}}/figures/{{figure}}.png",
            caption="../report/{figure}.rst",
            category="{study}",
        ),
    params:
        python=PYTHON,
        tables=lambda w: f"{RESULTS}/{w.study}/tables",
        stem=lambda w: f"{RESULTS}/{w.study}/figures/{w.figure}",
    log:
        f"{RESULTS}/{{study}}/logs/figures/{{figure}}.log",
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        CONDA_ENV
    shell:
        "{params.python} -m fanin.figures {wildcards.figure} --tables {params.tables:q} --out {params.stem:q} > {log:q} 2>&1"
