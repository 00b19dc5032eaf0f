"""The deployments kept on the backbone's Swift (deployment/swift_store.py), as two controllers
use them: each through its own proxy, with the tempauth account the scenario makes. With a
region down: test_swift.py's outage of region 1 (exercise_during_outage)."""

import threading
import time

import pytest
from test_swift import RUN
from test_swift import deployment_store as controller

from ansible_collections.infn.cloud.plugins.module_utils.deployment import state as states
from ansible_collections.infn.cloud.plugins.module_utils.deployment.swift_store import DEFAULT_CONTAINER

A = "infn-mol-swift-proxy1"
B = "infn-mol-swift-proxy2"


def test_what_one_controller_writes_the_other_lists_reads_and_removes():
    first, second = controller(A, "controller-a"), controller(B, "controller-b")
    name = f"web-{RUN}"
    document = states.new_document(name, "demo", "/t.yaml", "abc")
    with first.locked(name):
        first.write(document)
    assert name in second.names()
    assert second.read(name) == document
    assert second.read(f"nothing-{RUN}") is None
    with second.locked(name):
        second.delete(name)
    assert name not in first.names() and first.read(name) is None


def test_of_two_controllers_locking_at_once_exactly_one_goes_on():
    stores = [controller(A, "controller-a"), controller(B, "controller-b")]
    barrier = threading.Barrier(2)
    outcome = {}

    def run(store):
        barrier.wait()
        try:
            with store.locked(f"race-{RUN}"):
                outcome[store.holder] = "won"
                time.sleep(3)  # the other tries while this one holds it
        except states.StateError as error:
            outcome[store.holder] = str(error)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcome.values()).count("won") == 1, outcome
    winner = next(holder for holder, result in outcome.items() if result == "won")
    loser = next(result for result in outcome.values() if result != "won")
    assert loser.startswith(f"deployment 'race-{RUN}' is being worked on by {winner} since 20"), loser
    assert loser.endswith(f"; its lock is swift:{DEFAULT_CONTAINER}/race-{RUN}.lock")
    # Released: the next run of either gets it.
    with stores[1].locked(f"race-{RUN}"):
        pass


def test_a_lock_whose_holder_died_expires():
    dead = controller(A, "controller-a", lock_seconds=2)
    held = dead.locked(f"orphan-{RUN}")
    held.__enter__()  # the controller dies here: it never releases the lock
    other = controller(B, "controller-b")
    with pytest.raises(states.StateError, match="being worked on by controller-a since"), other.locked(f"orphan-{RUN}"):
        pass
    time.sleep(3)
    with other.locked(f"orphan-{RUN}"):  # expired: taken over
        other.write(states.new_document(f"orphan-{RUN}", "demo", "/t.yaml", "abc"))
        # The first one was only slow, not dead: it may not write over the run that took over.
        late = states.new_document(f"orphan-{RUN}", "other", "/t.yaml", "abc")
        with pytest.raises(states.StateError, match="lock expired and is now held by controller-b since"):
            dead.write(late)
    assert controller(A, "controller-a").read(f"orphan-{RUN}")["project"] == "demo"
