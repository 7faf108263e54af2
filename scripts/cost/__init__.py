"""What a stack costs a month, from the resources the offline plan evaluates and AWS's price list.

    python -m scripts.cost refresh-prices [--region us-east-1]   # rewrite prices/<region>.json

One module per step:

    price_needs     which prices the estimator uses, and how each is found in an offer file
    offer_files     reading AWS Price List offer files (bulk API): products, terms, tiers
    price_book      the committed, dated price file (prices/<region>.json) the estimator reads
    assumptions     the usage the estimate assumes (requests, GB, messages); the user's to change
    estimate        each planned resource priced: standing costs, usage costs, not priced, free
    report          the estimate as text (`make plan`), a comparison of two (`make plan-diff`)
    compare         two estimates (base and head of a pull request): totals and changed lines

The estimate itself needs the evaluated stack, which `tools.plan` makes (`make plan`); this package
imports nothing of tools/, so the deploy scripts (the pull-request comment) can use it too.
"""
