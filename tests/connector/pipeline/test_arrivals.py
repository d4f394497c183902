from connector.pipeline.arrivals import InboxArrivals


class Counter:
    def __init__(self) -> None:
        self.now = 100.0
        self.seq = 0

    def clock(self) -> float:
        return self.now

    def last_seq(self) -> int:
        return self.seq


def test_the_rate_is_the_inbox_growth_over_about_the_last_second() -> None:
    c = Counter()
    arrivals = InboxArrivals(c.last_seq, c.clock)
    assert arrivals.rate() == 0
    c.now, c.seq = 100.1, 50
    assert arrivals.rate() == 0  # too short a span to say
    c.now, c.seq = 100.5, 250
    assert arrivals.rate() == 500
    c.now, c.seq = 101.0, 500
    assert arrivals.rate() == 500
    # Nothing new for a while: the old samples drop out and the rate falls to nothing.
    c.now = 102.5
    arrivals.rate()
    c.now = 103.0
    assert arrivals.rate() == 0
