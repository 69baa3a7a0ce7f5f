package io.imgcache.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FlightsTest {
  private final Flights<String> flights = new Flights<>();
  private final AtomicInteger loads = new AtomicInteger();
  private final CompletableFuture<String> load = new CompletableFuture<>();

  /** A load the test completes by hand, counting how often it starts. */
  private final Supplier<CompletableFuture<String>> counted = () -> {
    loads.incrementAndGet();
    return load;
  };

  private static Throwable failureOf(CompletableFuture<?> f) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  @Test
  void concurrentJoinsShareOneLoad() throws Exception {
    Flights.Joined<String> first = flights.join("/k", counted);
    Flights.Joined<String> second = flights.join("/k", counted);
    Flights.Joined<String> third = flights.join("/k", counted);
    assertFalse(first.coalesced());
    assertTrue(second.coalesced());
    assertTrue(third.coalesced());
    assertEquals(1, loads.get());
    assertEquals(1, flights.size());
    assertFalse(first.result().isDone());

    load.complete("v");
    for (Flights.Joined<String> j : List.of(first, second, third)) {
      assertEquals("v", j.result().get(10, TimeUnit.SECONDS));
    }
    assertEquals(0, flights.size());
  }

  @Test
  void differentKeysLoadSeparately() {
    flights.join("/a", counted);
    flights.join("/b", counted);
    assertEquals(2, loads.get());
    assertEquals(2, flights.size());
  }

  @Test
  void joinsRacingOnManyThreadsStartOneLoad() throws Exception {
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Flights.Joined<String>>> joined = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        joined.add(pool.submit(() -> {
          start.await();
          return flights.join("/k", counted);
        }));
      }
      start.countDown();
      List<Flights.Joined<String>> results = new ArrayList<>();
      for (Future<Flights.Joined<String>> f : joined) {
        results.add(f.get(10, TimeUnit.SECONDS));
      }
      assertEquals(1, loads.get());
      assertEquals(1, results.stream().filter(j -> !j.coalesced()).count());
      load.complete("v");
      for (Flights.Joined<String> j : results) {
        assertEquals("v", j.result().get(10, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Each caller holds a copy: the first caller going away must not cancel the load. */
  @ParameterizedTest(name = "[{index}] cancel waiter {0}")
  @ValueSource(ints = {0, 1})
  void cancellingOneWaiterDoesNotCancelTheLoad(int cancelled) throws Exception {
    List<Flights.Joined<String>> joined =
        List.of(flights.join("/k", counted), flights.join("/k", counted), flights.join("/k", counted));
    assertTrue(joined.get(cancelled).result().cancel(true));

    assertFalse(load.isCancelled());
    load.complete("v");
    for (int i = 0; i < joined.size(); i++) {
      if (i != cancelled) {
        assertEquals("v", joined.get(i).result().get(10, TimeUnit.SECONDS));
      }
    }
    assertTrue(joined.get(cancelled).result().isCancelled());
    assertEquals(1, loads.get());
  }

  @Test
  void oneWaiterTimingOutDoesNotFailTheOthers() throws Exception {
    CompletableFuture<String> impatient = flights.join("/k", counted).result().orTimeout(1, TimeUnit.MILLISECONDS);
    CompletableFuture<String> patient = flights.join("/k", counted).result();
    assertTrue(failureOf(impatient) instanceof TimeoutException);

    assertFalse(patient.isDone());
    assertEquals(1, flights.size());
    load.complete("v");
    assertEquals("v", patient.get(10, TimeUnit.SECONDS));
  }

  @Test
  void failedLoadFailsEveryWaiterAndTheNextJoinLoadsAgain() throws Exception {
    CompletableFuture<String> a = flights.join("/k", counted).result();
    CompletableFuture<String> b = flights.join("/k", counted).result();
    IllegalStateException boom = new IllegalStateException("origin down");
    load.completeExceptionally(boom);

    assertSame(boom, failureOf(a));
    assertSame(boom, failureOf(b));
    assertEquals(0, flights.size());

    Flights.Joined<String> again = flights.join("/k", () -> {
      loads.incrementAndGet();
      return CompletableFuture.completedFuture("second");
    });
    assertFalse(again.coalesced());
    assertEquals(2, loads.get());
    assertEquals("second", again.result().get(10, TimeUnit.SECONDS));
  }

  @Test
  void loadThatThrowsFailsTheFlightAndTheNextJoinLoadsAgain() throws Exception {
    IllegalArgumentException boom = new IllegalArgumentException("bad target");
    Flights.Joined<String> joined = flights.join("/k", () -> {
      throw boom;
    });
    assertFalse(joined.coalesced());
    assertSame(boom, failureOf(joined.result()));
    assertEquals(0, flights.size());

    Flights.Joined<String> again = flights.join("/k", counted);
    assertFalse(again.coalesced());
    assertEquals(1, loads.get());
  }

  /**
   * A load that throws an Error (an assert in a loader, StackOverflowError) must not leave the key's
   * flight in the map: every later caller would join a future nobody completes, for that key, until
   * restart.
   */
  @Test
  void loadThatThrowsAnErrorDoesNotLeaveTheKeyStuck() {
    try {
      flights.join("/k", () -> {
        throw new AssertionError("loader bug");
      });
    } catch (AssertionError expected) {
      // Whether the Error propagates or fails the flight is the implementation's choice.
    }
    assertEquals(0, flights.size());
    Flights.Joined<String> again = flights.join("/k", counted);
    assertFalse(again.coalesced());
    assertEquals(1, loads.get());
  }

  @Test
  void loadCompletedSynchronouslyLeavesNoFlight() throws Exception {
    Flights.Joined<String> joined = flights.join("/k", () -> CompletableFuture.completedFuture("v"));
    assertEquals("v", joined.result().get(10, TimeUnit.SECONDS));
    assertEquals(0, flights.size());
  }

  /** The flight leaves the map before its waiters run: one that asks again starts a new load. */
  @Test
  void waiterThatJoinsAgainOnCompletionStartsANewFlight() throws Exception {
    AtomicReference<Flights.Joined<String>> rejoined = new AtomicReference<>();
    flights.join("/k", counted).result().thenRun(() -> rejoined.set(flights.join("/k", counted)));
    load.complete("v");
    assertFalse(rejoined.get().coalesced());
    assertEquals(2, loads.get());
  }
}
