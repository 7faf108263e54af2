"""The guide quotes both stacks' monthly totals: they must be what `make plan` prints today."""

from __future__ import annotations

import re

from scripts.cost.compare import money
from scripts.cost.price_book import load_price_book
from tests.cost.conftest import RECORDED
from tools.plan.costs import estimate_stack

GUIDE = RECORDED.parents[2] / "docs" / "getting-started-on-aws.md"
QUOTE = re.compile(
    r"- (?P<stack>staging|prod): about \*\*(?P<total>\$[\d,.]+) a month\*\* "
    r"\((?P<standing>\$[\d,.]+) standing \+ (?P<usage>\$[\d,.]+) assumed usage\)"
)


def test_the_guide_quotes_each_stacks_total_with_the_date_of_the_prices(staging, prod):
    text = GUIDE.read_text()
    quotes = {m["stack"]: m for m in QUOTE.finditer(text)}
    assert set(quotes) == {"staging", "prod"}, "the guide's 'What you need' lost a cost line"
    for stack in (staging, prod):
        estimate = estimate_stack(stack)
        quote = quotes[stack.stack]
        assert quote["total"] == money(estimate.total_usd), stack.stack
        assert quote["standing"] == money(estimate.standing_usd), stack.stack
        assert quote["usage"] == money(estimate.usage_usd), stack.stack
    date = load_price_book("us-east-1").generated_on
    assert re.search(rf"prices\s+of {date}", text), "the guide must say whose prices these are"
