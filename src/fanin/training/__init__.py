"""Lightning glue: the training module and the callback that measures the run."""
