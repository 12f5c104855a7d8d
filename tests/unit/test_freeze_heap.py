import gc
from collections.abc import Iterator

import pytest

from ghl_bridge.api.app import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process must not keep its heap out of collection


def test_freezing_moves_the_startup_heap_out_of_collection(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    freeze_startup_heap()
    assert gc.get_freeze_count() > 0
