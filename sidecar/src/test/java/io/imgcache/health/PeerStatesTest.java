package io.imgcache.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.health.PeerStates.Transition;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The health state machine without threads: DESIGN §7's thresholds, observation by observation. */
class PeerStatesTest {
  private static final String PEER = "http://127.0.0.1:9001";
  private static final String OTHER = "http://127.0.0.1:9002";

  /**
   * One row: thresholds, a run of outcomes ('F' failure, 'S' success) for one peer, and the
   * transition expected after each outcome ('.' none, 'U' became unhealthy, 'H' became healthy).
   */
  static Stream<Arguments> runs() {
    return Stream.of(
        // healthy → unhealthy after exactly N consecutive failures
        Arguments.of("N=1 drops on the first failure", 1, 1, "F", "U"),
        Arguments.of("N=3 drops on the third failure", 3, 2, "FFF", "..U"),
        Arguments.of("N=5 drops on the fifth failure", 5, 1, "FFFFF", "....U"),
        // unhealthy → healthy after exactly M consecutive successes
        Arguments.of("M=1 returns on the first success", 1, 1, "FS", "UH"),
        Arguments.of("M=2 returns on the second success", 3, 2, "FFFSS", "..U.H"),
        Arguments.of("M=4 returns on the fourth success", 1, 4, "FSSSS", "U...H"),
        // a success resets the failure count
        Arguments.of("success between failures resets them", 3, 2, "FFSFFF", ".....U"),
        Arguments.of("a success every third time keeps the peer", 3, 2, "FFSFFSFFS", "........."),
        // a failure resets the success count
        Arguments.of("failure between successes resets them", 1, 3, "FSSFSSS", "U.....H"),
        Arguments.of("unhealthy peer needs M successes in a row", 2, 2, "FFSFSFSS", ".U.....H"),
        // no repeated transitions while the state holds
        Arguments.of("more failures after dropping change nothing", 2, 2, "FFFFF", ".U..."),
        Arguments.of("more successes after returning change nothing", 1, 2, "FSSSS", "U.H.."),
        Arguments.of("successes on a healthy peer change nothing", 3, 2, "SSSS", "...."),
        // round trips
        Arguments.of("drops, returns, drops again", 2, 2, "FFSSFF", ".U.H.U"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  void transitionsHappenExactlyAtTheThresholds(String name, int unhealthy, int healthy, String outcomes,
      String expected) {
    PeerStates states = new PeerStates(unhealthy, healthy);
    List<Character> seen = new ArrayList<>();
    for (char outcome : outcomes.toCharArray()) {
      seen.add(symbol(states.record(PEER, outcome == 'S')));
    }
    assertEquals(expected, join(seen), name + ": outcomes " + outcomes);
    boolean lastDrop = expected.lastIndexOf('U') > expected.lastIndexOf('H');
    assertEquals(!lastDrop, states.healthy(PEER), name + ": final state");
  }

  @Test
  void anUnknownPeerIsHealthy() {
    assertTrue(new PeerStates(3, 2).healthy(PEER));
  }

  @Test
  void peersAreCountedSeparately() {
    PeerStates states = new PeerStates(2, 2);
    assertEquals(Transition.NONE, states.record(PEER, false));
    assertEquals(Transition.NONE, states.record(OTHER, false));
    assertEquals(Transition.NONE, states.record(OTHER, true)); // resets OTHER only
    assertEquals(Transition.BECAME_UNHEALTHY, states.record(PEER, false));
    assertTrue(states.healthy(OTHER));
    assertFalse(states.healthy(PEER));
  }

  @Test
  void retainForgetsPeersThatLeft() {
    PeerStates states = new PeerStates(2, 2);
    states.record(PEER, false);
    states.record(PEER, false);
    states.record(OTHER, false);
    assertFalse(states.healthy(PEER));

    states.retain(Set.of(OTHER));

    // PEER starts over as a healthy stranger: one failure is not enough to drop it again.
    assertTrue(states.healthy(PEER));
    assertEquals(Transition.NONE, states.record(PEER, false));
    assertEquals(Transition.BECAME_UNHEALTHY, states.record(PEER, false));
    // OTHER kept its count: its second failure drops it.
    assertEquals(Transition.BECAME_UNHEALTHY, states.record(OTHER, false));
  }

  @Test
  void retainForgetsPartialCounts() {
    PeerStates states = new PeerStates(3, 2);
    states.record(PEER, false);
    states.record(PEER, false);
    states.retain(Set.of());
    assertEquals(Transition.NONE, states.record(PEER, false), "the two earlier failures were forgotten");
    assertEquals(Transition.NONE, states.record(PEER, false));
    assertEquals(Transition.BECAME_UNHEALTHY, states.record(PEER, false));
  }

  @Test
  void thresholdsBelowOneAreRefusedWithTheValue() {
    IllegalArgumentException unhealthy = assertThrows(IllegalArgumentException.class, () -> new PeerStates(0, 2));
    assertEquals("unhealthyThreshold must be >= 1, was 0", unhealthy.getMessage());
    IllegalArgumentException healthy = assertThrows(IllegalArgumentException.class, () -> new PeerStates(3, -1));
    assertEquals("healthyThreshold must be >= 1, was -1", healthy.getMessage());
  }

  private static char symbol(Transition t) {
    return switch (t) {
      case NONE -> '.';
      case BECAME_UNHEALTHY -> 'U';
      case BECAME_HEALTHY -> 'H';
    };
  }

  private static String join(List<Character> symbols) {
    StringBuilder out = new StringBuilder();
    symbols.forEach(out::append);
    return out.toString();
  }
}
