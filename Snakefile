# fanin: Snakemake fans out, Hydra configures one run, Lightning trains it, probes measure every layer,
# pandas collects, seaborn draws.   snakemake --cores N [--config studies=[glorot2010,he2015] scale=paper]
import re

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    study="|".join(map(re.escape, config["studies"])) or "[^/]+",
    run=r"(?:[a-z_.]+=[^/]+/)*[a-z_.]+=[^/]+",


include: "workflow/rules/train.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
