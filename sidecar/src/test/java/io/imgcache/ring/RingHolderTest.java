package io.imgcache.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.collect.ImmutableSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RingHolderTest {
  private static final Ring EMPTY = Ring.of(List.of(), 1);

  @Test
  void setPublishesTheNewRingAndReturnsThePrevious() {
    Ring one = Ring.of(List.of("http://a:1"), 1);
    RingHolder holder = new RingHolder(EMPTY);
    assertSame(EMPTY, holder.current());
    assertSame(EMPTY, holder.set(one));
    assertSame(one, holder.current());
  }

  @Test
  void concurrentUpdatesAreNotLost() throws Exception {
    RingHolder holder = new RingHolder(EMPTY);
    int threads = 4;
    int perThread = 50;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<CompletableFuture<Void>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(CompletableFuture.runAsync(() -> {
          for (int i = 0; i < perThread; i++) {
            String member = "http://10.0." + thread + "." + i + ":9000";
            holder.update(r -> Ring.of(
                ImmutableSet.<String>builder().addAll(r.members()).add(member).build(), 1));
          }
        }, pool));
      }
      CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    assertEquals(threads * perThread, holder.current().size());
  }

  @Test
  void rejectsNullRings() {
    RingHolder holder = new RingHolder(EMPTY);
    assertThrows(NullPointerException.class, () -> holder.set(null));
    assertThrows(NullPointerException.class, () -> holder.update(r -> null));
    assertSame(EMPTY, holder.current());
    assertThrows(NullPointerException.class, () -> new RingHolder(null));
  }

  @Test
  void updateReturnsTheInstalledRing() {
    RingHolder holder = new RingHolder(EMPTY);
    Ring installed = holder.update(r -> Ring.of(Set.of("http://a:1"), r.vnodes()));
    assertSame(installed, holder.current());
    assertEquals(Set.of("http://a:1"), installed.members());
  }
}
