"""spin-py's benchmarks: the workloads of docs/performance.md (Method) against peers, in one run.

Entry points (run from the repository root with the project venv):

    .venv/bin/python -m bench.run          # every workload, JSON + Markdown table
    .venv/bin/python -m bench.profile      # where one spin-py request spends its time (py-spy)

Every number is compared with a peer measured in the same run (same machine, same component,
same load generator): absolute numbers drift on a shared 2-core machine, ratios less so.
"""
