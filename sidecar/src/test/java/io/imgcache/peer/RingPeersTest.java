package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.cache.CachedResponse;
import io.imgcache.group.PeerPicker;
import io.imgcache.ring.Cluster;
import io.imgcache.ring.Ring;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Owner and previous-owner choice (DESIGN §5), on a fake clock. */
class RingPeersTest {
  private static final String A = "http://10.0.0.1:9000";
  private static final String B = "http://10.0.0.2:9000";
  private static final String C = "http://10.0.0.3:9000";
  private static final Duration WINDOW = Duration.ofSeconds(30);

  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  private record FakePeer(String url) implements PeerPicker.Peer {
    @Override
    public CompletableFuture<CachedResponse> fetch(io.imgcache.group.Request request) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<CachedResponse> fetchCached(io.imgcache.group.Request request) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<CachedResponse> loadFor(io.imgcache.group.Request request) {
      throw new UnsupportedOperationException();
    }
  }

  private RingPeers peers(Cluster cluster) {
    return new RingPeers(cluster, FakePeer::new, WINDOW, now::get);
  }

  private static String keyOwnedBy(Ring ring, String member, String prefix) {
    for (int i = 0; ; i++) {
      if (ring.owner(prefix + i).equals(member)) {
        return prefix + i;
      }
    }
  }

  @Test
  void ownerIsNullForSelfAndTheRingsOwnerOtherwise() {
    Cluster cluster = new Cluster(A, 160, now::get);
    cluster.setMembers(List.of(A, B));
    RingPeers peers = peers(cluster);
    Ring ring = cluster.snapshot().ring();
    assertNull(peers.ownerOf(keyOwnedBy(ring, A, "/a")));
    assertEquals(B, peers.ownerOf(keyOwnedBy(ring, B, "/b")).url());
  }

  /** Regression: a joining node's previous ring is itself alone, so it never asked anyone. */
  @Test
  void joiningNodeAsksTheOwnerTheOthersHadBeforeItJoined() {
    Cluster c = new Cluster(C, 160, now::get);
    c.setMembers(List.of(A, B, C)); // what static membership or etcd's first list does at start
    RingPeers peers = peers(c);
    Ring before = Ring.of(List.of(A, B), 160);
    Ring after = c.snapshot().ring();

    int asked = 0;
    for (int i = 0; i < 300; i++) {
      String key = "/k" + i;
      PeerPicker.Peer previous = peers.previousOwnerOf(key);
      if (after.owner(key).equals(C)) {
        assertNotNull(previous, key);
        assertEquals(before.owner(key), previous.url(), key);
        asked++;
      }
    }
    assertTrue(asked > 50, "C owns " + asked + " of 300 keys");
  }

  @Test
  void nobodyIsAskedAfterTheWarmUpWindow() {
    Cluster c = new Cluster(C, 160, now::get);
    c.setMembers(List.of(A, B, C));
    RingPeers peers = peers(c);
    String key = keyOwnedBy(c.snapshot().ring(), C, "/c");
    assertNotNull(peers.previousOwnerOf(key));
    now.addAndGet(WINDOW.toNanos() + 1);
    assertNull(peers.previousOwnerOf(key));
  }

  @Test
  void previousOwnerThatLeftTheRingIsNotAsked() {
    Cluster a = new Cluster(A, 160, now::get);
    a.setMembers(List.of(A, B, C));
    now.addAndGet(WINDOW.toNanos() * 2);
    Ring three = a.snapshot().ring();
    a.markUnhealthy(C);
    RingPeers peers = peers(a);
    String key = keyOwnedBy(three, C, "/c");
    assertNull(peers.previousOwnerOf(key), "C left the ring: asking it would only cost a timeout");
  }

  @Test
  void nothingIsAskedWhenTheRingNeverChanged() {
    Cluster alone = new Cluster(A, 160, now::get);
    alone.setMembers(List.of(A));
    assertNull(peers(alone).previousOwnerOf("/x"));
  }
}
