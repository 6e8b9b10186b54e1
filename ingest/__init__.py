"""Import of postmortem documents: discovery, parsers, mapping into the graph, the pipeline."""
