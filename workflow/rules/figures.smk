# Each figure is drawn from its study's tables alone: `snakemake <figure>.pdf` never re-trains.
# One rule per figure, so that each carries its own caption into the report.

for _figure in sorted({name for names in FIGURES.values() for name in names}):

    rule:
        name:
            f"figure_{_figure}"
        input:
            tables=[f"{RESULTS}/{{study}}/tables/{name}" for name in STUDY_TABLE_FILES],
            summary=f"{RESULTS}/{{study}}/tables/summary.csv",
        output:
            pdf=f"{RESULTS}/{{study}}/figures/{_figure}.pdf",
            png=report(
                f"{RESULTS}/{{study}}/figures/{_figure}.png",
                caption=f"../report/{_figure}.rst",
                category="{study}",
            ),
        params:
            python=PYTHON,
            figure=_figure,
            tables=lambda w: f"{RESULTS}/{w.study}/tables",
            stem=lambda w, output: output.pdf[: -len(".pdf")],
        log:
            f"{RESULTS}/{{study}}/logs/figures/{_figure}.log",
        resources:
            mem_mb=4000,
            runtime=10,
        conda:
            CONDA_ENV
        shell:
            "{params.python} -m fanin.figures {params.figure:q} --tables {params.tables:q} --out {params.stem:q}"
            " > {log:q} 2>&1"
