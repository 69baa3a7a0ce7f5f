package io.imgcache.health;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The health state machine, without threads or clocks: counts consecutive failures and successes
 * per peer and says when a peer turns unhealthy or healthy again. Not thread-safe: the monitor
 * calls it from its one thread.
 */
final class PeerStates {
  /** What one observation changed. */
  enum Transition { NONE, BECAME_UNHEALTHY, BECAME_HEALTHY }

  private static final class State {
    boolean healthy = true;
    int failures;
    int successes;
  }

  private final int unhealthyThreshold;
  private final int healthyThreshold;
  private final Map<String, State> states = new HashMap<>();

  PeerStates(int unhealthyThreshold, int healthyThreshold) {
    checkArgument(unhealthyThreshold >= 1, "unhealthyThreshold must be >= 1, was %s", unhealthyThreshold);
    checkArgument(healthyThreshold >= 1, "healthyThreshold must be >= 1, was %s", healthyThreshold);
    this.unhealthyThreshold = unhealthyThreshold;
    this.healthyThreshold = healthyThreshold;
  }

  /** Records one probe or fetch outcome for {@code peer}. */
  Transition record(String peer, boolean ok) {
    State s = states.computeIfAbsent(peer, p -> new State());
    if (ok) {
      s.failures = 0;
      s.successes++;
      if (!s.healthy && s.successes >= healthyThreshold) {
        s.healthy = true;
        return Transition.BECAME_HEALTHY;
      }
    } else {
      s.successes = 0;
      s.failures++;
      if (s.healthy && s.failures >= unhealthyThreshold) {
        s.healthy = false;
        return Transition.BECAME_UNHEALTHY;
      }
    }
    return Transition.NONE;
  }

  boolean healthy(String peer) {
    State s = states.get(peer);
    return s == null || s.healthy;
  }

  /** True if {@code peer} is held unhealthy or has a failure counted since its last success. */
  boolean suspect(String peer) {
    State s = states.get(peer);
    return s != null && (!s.healthy || s.failures > 0);
  }

  /** Forgets peers that are no longer members. */
  void retain(Set<String> members) {
    states.keySet().retainAll(members);
  }
}
