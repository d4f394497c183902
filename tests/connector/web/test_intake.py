from connector.web.intake import IntakeMeter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_covers_about_the_last_second() -> None:
    clock = Clock(10.2)
    meter = IntakeMeter(clock)
    for _ in range(3):
        meter.record()
    clock.now = 10.5
    assert meter.rate() == 3
    clock.now = 11.5  # half of the previous second still falls inside the window
    assert meter.rate() == 1.5
    meter.record()
    assert meter.rate() == 2.5
    clock.now = 13.0  # a whole second with nothing: nothing is left
    assert meter.rate() == 0
