package io.imgcache.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.benmanes.caffeine.cache.Ticker;
import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.ResponseCaches;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GroupTest {
  private static final String KEY = "/v2/image/png/003?h=200&w=850";
  private static final String TARGET = "/v2/image/png/003?w=850&h=200";
  private static final String CLIENT = "192.0.2.7";
  private static final Duration LONG = Duration.ofSeconds(30);
  private static final Ticker NEVER = () -> 0L;

  private static final CachedResponse PNG = response(200, "image/png", "png-bytes");
  private static final CachedResponse NOT_FOUND = response(404, "text/plain", "no such image");

  private final ResponseCache main = ResponseCaches.create(1 << 20, Duration.ZERO, Duration.ZERO, NEVER);
  private final ResponseCache hot = ResponseCaches.create(1 << 20, Duration.ZERO, Duration.ZERO, NEVER);
  private final FakeOrigin origin = new FakeOrigin();
  private final RecordingEvents events = new RecordingEvents();

  private static CachedResponse response(int status, String type, String body, String... moreHeaders) {
    List<String> headers = new ArrayList<>(List.of("Content-Type", type));
    headers.addAll(List.of(moreHeaders));
    // Off-heap already, as caches keep them, so assertSame holds on what a cache stored.
    return CachedResponse.of(status, headers, body.getBytes(StandardCharsets.UTF_8)).offHeap();
  }

  private Group group(PeerPicker peers) {
    return group(peers, main, LONG);
  }

  private Group group(PeerPicker peers, ResponseCache mainCache, Duration deadline) {
    return new Group("imgcache2", mainCache, hot, peers, origin, deadline, events);
  }

  private static Result value(CompletableFuture<Result> f) throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  /** An origin whose loads the test completes by hand. Thread-safe. */
  static final class FakeOrigin implements OriginLoader {
    record Call(String target, String forwardedFor, CompletableFuture<CachedResponse> future) {}

    final List<Call> calls = new CopyOnWriteArrayList<>();
    volatile RuntimeException throwOnLoad;

    @Override
    public CompletableFuture<CachedResponse> load(String target, String forwardedFor) {
      RuntimeException toThrow = throwOnLoad;
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      calls.add(new Call(target, forwardedFor, future));
      if (toThrow != null) {
        throw toThrow;
      }
      return future;
    }

    Call only() {
      assertEquals(1, calls.size(), "origin loads");
      return calls.get(0);
    }

    Call last() {
      return calls.get(calls.size() - 1);
    }
  }

  /** Another node whose answers the test completes by hand. */
  static final class FakePeer implements PeerPicker.Peer {
    final String url;
    final List<String> fetched = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<CachedResponse>> futures = new CopyOnWriteArrayList<>();
    final List<String> fetchedCached = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<CachedResponse>> cachedFutures = new CopyOnWriteArrayList<>();

    FakePeer(String url) {
      this.url = url;
    }

    @Override
    public String url() {
      return url;
    }

    @Override
    public CompletableFuture<CachedResponse> fetch(String key) {
      fetched.add(key);
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      futures.add(future);
      return future;
    }

    @Override
    public CompletableFuture<CachedResponse> fetchCached(String key) {
      fetchedCached.add(key);
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      cachedFutures.add(future);
      return future;
    }
  }

  /** A picker with fixed answers that counts how often it is asked. */
  static final class FakePicker implements PeerPicker {
    final PeerPicker.Peer owner;
    final PeerPicker.Peer previousOwner;
    final AtomicInteger asked = new AtomicInteger();

    FakePicker(PeerPicker.Peer owner, PeerPicker.Peer previousOwner) {
      this.owner = owner;
      this.previousOwner = previousOwner;
    }

    @Override
    public PeerPicker.Peer ownerOf(String key) {
      asked.incrementAndGet();
      return owner;
    }

    @Override
    public PeerPicker.Peer previousOwnerOf(String key) {
      return previousOwner;
    }
  }

  static final class RecordingEvents implements Group.Events {
    final AtomicInteger coalesced = new AtomicInteger();
    final AtomicInteger fallbacks = new AtomicInteger();
    final List<String> peerFailures = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void coalesced() {
      coalesced.incrementAndGet();
    }

    @Override
    public void peerFailed(String peerUrl) {
      peerFailures.add(peerUrl);
    }

    @Override
    public void fallback() {
      fallbacks.incrementAndGet();
    }
  }

  // --- this node owns the key ---

  @ParameterizedTest(name = "[{index}] {0} callers")
  @ValueSource(ints = {1, 2, 10})
  void concurrentGetsOfOneKeyCauseOneLoad(int callers) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    List<CompletableFuture<Result>> results = new ArrayList<>();
    for (int i = 0; i < callers; i++) {
      results.add(group.get(KEY, TARGET, CLIENT));
    }
    FakeOrigin.Call call = origin.only();
    assertEquals(TARGET, call.target());
    assertEquals(CLIENT, call.forwardedFor());
    assertEquals(callers - 1, events.coalesced.get());
    assertFalse(results.get(0).isDone());

    call.future().complete(PNG);
    for (CompletableFuture<Result> f : results) {
      Result r = value(f);
      assertEquals(Source.MISS, r.source());
      assertSame(PNG, r.response());
    }
    assertEquals(1, origin.calls.size());
  }

  @Test
  void getsRacingOnManyThreadsCauseOneLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<CompletableFuture<Result>>> started = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        started.add(pool.submit(() -> {
          start.await();
          return group.get(KEY, TARGET, CLIENT);
        }));
      }
      start.countDown();
      List<CompletableFuture<Result>> results = new ArrayList<>();
      for (Future<CompletableFuture<Result>> f : started) {
        results.add(f.get(10, TimeUnit.SECONDS));
      }
      origin.only().future().complete(PNG);
      for (CompletableFuture<Result> f : results) {
        assertSame(PNG, value(f).response());
      }
      assertEquals(threads - 1, events.coalesced.get());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void cancelledWaiterDoesNotCancelTheLoadForTheOthers() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> first = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> second = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> third = group.get(KEY, TARGET, CLIENT);

    first.cancel(true);
    FakeOrigin.Call call = origin.only();
    assertFalse(call.future().isCancelled());
    call.future().complete(PNG);

    assertSame(PNG, value(second).response());
    assertSame(PNG, value(third).response());
    assertSame(PNG, main.peek(KEY));
  }

  @Test
  void waiterTimingOutDoesNotCancelTheLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY, main, Duration.ofMillis(1));
    CompletableFuture<Result> impatient = group.get(KEY, TARGET, CLIENT);
    assertTrue(failureOf(impatient) instanceof TimeoutException);

    // The load is still in flight: a new caller joins it rather than starting another.
    CompletableFuture<Result> alsoImpatient = group.get(KEY, TARGET, CLIENT);
    assertEquals(1, events.coalesced.get());
    FakeOrigin.Call call = origin.only();
    assertFalse(call.future().isCancelled());

    call.future().complete(PNG);
    assertSame(PNG, main.peek(KEY));
    Result hit = group.lookup(KEY);
    assertEquals(Source.HIT, hit.source());
    assertSame(PNG, hit.response());
    assertEquals(1, origin.calls.size());
    // The second waiter either got the answer or timed out on its own: never a cancellation.
    assertFalse(alsoImpatient.isCancelled());
  }

  @Test
  void failedLoadFailsEveryWaiterAndTheNextGetLoadsAgain() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> b = group.get(KEY, TARGET, CLIENT);
    IllegalStateException boom = new IllegalStateException("origin answered 503");
    origin.only().future().completeExceptionally(boom);

    assertSame(boom, failureOf(a));
    assertSame(boom, failureOf(b));
    assertNull(main.peek(KEY));
    assertNull(group.lookup(KEY));

    CompletableFuture<Result> retry = group.get(KEY, TARGET, CLIENT);
    assertEquals(2, origin.calls.size());
    origin.last().future().complete(PNG);
    assertEquals(Source.MISS, value(retry).source());
    assertSame(PNG, main.peek(KEY));
  }

  @Test
  void loaderThatThrowsIsHandledLikeAFailedLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    IllegalStateException boom = new IllegalStateException("pool closed");
    origin.throwOnLoad = boom;

    CompletableFuture<Result> a = group.get(KEY, TARGET, CLIENT);
    assertSame(boom, failureOf(a));
    assertNull(main.peek(KEY));

    origin.throwOnLoad = null;
    CompletableFuture<Result> retry = group.get(KEY, TARGET, CLIENT);
    assertEquals(2, origin.calls.size());
    origin.last().future().complete(PNG);
    assertSame(PNG, value(retry).response());
  }

  @Test
  void storableLoadIsStoredAndThenAHit() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    assertNull(group.lookup(KEY));
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    origin.only().future().complete(PNG);
    assertEquals(new Result(Source.MISS, PNG), value(f));

    assertSame(PNG, main.peek(KEY));
    assertNull(hot.peek(KEY));
    assertEquals(new Result(Source.HIT, PNG), group.lookup(KEY));
    assertEquals(new Result(Source.HIT, PNG), value(group.get(KEY, TARGET, CLIENT)));
    assertEquals(1, origin.calls.size());
  }

  @ParameterizedTest
  @ValueSource(strings = {"no-store", "private, max-age=60"})
  void nonStorableResponseIsReturnedButNotStored(String cacheControl) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse uncacheable = response(200, "image/png", "fresh", "Cache-Control", cacheControl);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    origin.only().future().complete(uncacheable);

    assertEquals(new Result(Source.MISS, uncacheable), value(f));
    assertNull(main.peek(KEY));
    assertNull(group.lookup(KEY));
    group.get(KEY, TARGET, CLIENT);
    assertEquals(2, origin.calls.size());
  }

  @Test
  void redirectIsReturnedButNotStored() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse moved = response(301, "text/plain", "", "Location", "/elsewhere");
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    origin.only().future().complete(moved);
    assertSame(moved, value(f).response());
    assertNull(main.peek(KEY));
  }

  @Test
  void notFoundIsNotStoredWhenNegativeTtlIsZero() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    origin.only().future().complete(NOT_FOUND);

    assertEquals(new Result(Source.MISS, NOT_FOUND), value(f));
    assertNull(main.peek(KEY));
    assertNull(group.lookup(KEY));
  }

  @Test
  void notFoundIsStoredWhenNegativeTtlIsSet() throws Exception {
    ResponseCache negativeMain = ResponseCaches.create(1 << 20, Duration.ZERO, Duration.ofSeconds(5), NEVER);
    Group group = group(PeerPicker.SELF_ONLY, negativeMain, LONG);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    origin.only().future().complete(NOT_FOUND);
    assertSame(NOT_FOUND, value(f).response());
    assertSame(NOT_FOUND, negativeMain.peek(KEY));
  }

  /**
   * One hop: a peer's request is never sent on to the key's owner by this node's ring. Regression
   * (the chaos suite's asymmetric partition): a node that answered peers for keys its own ring
   * placed elsewhere kept them in its main cache, and after healing two main caches held them.
   */
  @Test
  void getAsOwnerNeverForwardsAndKeepsKeysOwnedElsewhereOutOfTheMainCache() throws Exception {
    FakePeer other = new FakePeer("http://10.0.0.2:9000");
    FakePicker picker = new FakePicker(other, null);
    Group group = group(picker);

    CompletableFuture<Result> f = group.getAsOwner(KEY);
    FakeOrigin.Call call = origin.only();
    assertEquals(KEY, call.target());
    assertNull(call.forwardedFor());
    call.future().complete(PNG);

    assertEquals(new Result(Source.MISS, PNG), value(f));
    assertNull(main.peek(KEY), "our ring says another node owns it");
    assertSame(PNG, hot.peek(KEY));
    assertEquals(new Result(Source.HIT_HOT, PNG), value(group.getAsOwner(KEY)));
    assertEquals(1, origin.calls.size());
    assertTrue(other.fetched.isEmpty());
  }

  @Test
  void getAsOwnerOfAKeyThisNodeOwnsKeepsItInTheMainCache() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.getAsOwner(KEY);
    origin.only().future().complete(PNG);
    assertEquals(new Result(Source.MISS, PNG), value(f));
    assertSame(PNG, main.peek(KEY));
    assertEquals(new Result(Source.HIT, PNG), value(group.getAsOwner(KEY)));
  }

  @Test
  void getAsOwnerInWarmUpOnlyAsksThePreviousOwnerForItsCopy() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    FakePicker picker = new FakePicker(new FakePeer("http://10.0.0.2:9000"), previous);
    Group group = group(picker);

    CompletableFuture<Result> f = group.getAsOwner(KEY);
    assertEquals(List.of(KEY), previous.fetchedCached);
    assertTrue(previous.fetched.isEmpty(), "fetch() would make the previous owner load: a second hop");
    previous.cachedFutures.get(0).complete(PNG);
    assertSame(PNG, value(f).response());
  }

  @Test
  void warmUpTakesThePreviousOwnersCopyAndStoresIt() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    Group group = group(new FakePicker(null, previous));

    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    previous.cachedFutures.get(0).complete(PNG);
    assertSame(PNG, value(f).response());
    assertTrue(origin.calls.isEmpty());
    assertSame(PNG, main.peek(KEY));
  }

  @Test
  void warmUpMissLoadsFromTheOriginAndIsNotAPeerFailure() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    Group group = group(new FakePicker(null, previous));

    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    previous.cachedFutures.get(0).completeExceptionally(new IllegalStateException("not cached"));
    FakeOrigin.Call call = origin.only();
    assertEquals(TARGET, call.target());
    call.future().complete(PNG);
    assertEquals(new Result(Source.MISS, PNG), value(f));
    assertSame(PNG, main.peek(KEY));
    assertTrue(events.peerFailures.isEmpty());
  }

  @Test
  void demoteNotOwnedMovesOnlyKeysOwnedElsewhereToTheHotCache() {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse mine = response(200, "image/png", "mine");
    main.put("/mine", mine);
    main.put("/theirs", PNG);

    assertEquals(1, group.demoteNotOwned(key -> key.equals("/mine")));
    assertSame(mine, main.peek("/mine"));
    assertNull(main.peek("/theirs"));
    assertSame(PNG, hot.peek("/theirs"));
    assertEquals(new Result(Source.HIT_HOT, PNG), group.lookup("/theirs"));
  }

  @Test
  void getAsOwnerCoalescesWithClientGets() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> client = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> peer = group.getAsOwner(KEY);
    origin.only().future().complete(PNG);
    assertSame(PNG, value(client).response());
    assertSame(PNG, value(peer).response());
  }

  /**
   * One hop: a peer's request is answered by this node from its own origin. If a client's fetch
   * of the same key from another node (this node's ring disagrees, e.g. mid-membership-change) is
   * in flight, getAsOwner must not join it: that would forward the peer's request to a third node.
   */
  @Test
  void getAsOwnerDoesNotJoinAPeerFetchInFlight() throws Exception {
    FakePeer other = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> other);

    CompletableFuture<Result> client = group.get(KEY, TARGET, CLIENT);
    assertEquals(List.of(KEY), other.fetched);

    CompletableFuture<Result> asOwner = group.getAsOwner(KEY);
    assertEquals(1, origin.calls.size(), "getAsOwner must load from this node's origin");
    origin.only().future().complete(PNG);
    Result r = value(asOwner);
    assertEquals(Source.MISS, r.source());
    assertNull(main.peek(KEY), "our ring names another owner: not ours to keep in the main cache");
    assertEquals(1, other.fetched.size());

    other.futures.get(0).complete(PNG);
    assertEquals(Source.PEER, value(client).source());
  }

  @Test
  void purgeRemovesFromBothCaches() {
    Group group = group(PeerPicker.SELF_ONLY);
    main.put(KEY, PNG);
    hot.put(KEY, PNG);
    assertEquals(2, group.purge(KEY));
    assertNull(group.lookup(KEY));
    assertEquals(0, group.purge(KEY));
  }

  @Test
  void lookupPrefersMainOverHot() {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse older = response(200, "image/png", "older");
    hot.put(KEY, older);
    assertEquals(new Result(Source.HIT_HOT, older), group.lookup(KEY));
    main.put(KEY, PNG);
    assertEquals(new Result(Source.HIT, PNG), group.lookup(KEY));
  }

  @Test
  void rejectsNonPositiveDeadline() {
    assertThrows(IllegalArgumentException.class, () -> group(PeerPicker.SELF_ONLY, main, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> group(PeerPicker.SELF_ONLY, main, Duration.ofMillis(-1)));
    assertEquals("imgcache2", group(PeerPicker.SELF_ONLY).name());
  }

  // --- another node owns the key ---

  @Test
  void ownerAnswerIsAPeerResultOfferedToTheHotCache() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);

    CompletableFuture<Result> a = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> b = group.get(KEY, TARGET, CLIENT);
    assertEquals(List.of(KEY), owner.fetched);
    owner.futures.get(0).complete(PNG);

    assertEquals(new Result(Source.PEER, PNG), value(a));
    assertEquals(new Result(Source.PEER, PNG), value(b));
    assertSame(PNG, hot.peek(KEY));
    assertNull(main.peek(KEY), "only the owner stores a key in its main cache");
    assertEquals(new Result(Source.HIT_HOT, PNG), group.lookup(KEY));
    assertTrue(origin.calls.isEmpty());
    assertTrue(events.peerFailures.isEmpty());
    assertEquals(0, events.fallbacks.get());
  }

  @Test
  void ownerNotFoundIsAuthoritativeAndNotHot() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    owner.futures.get(0).complete(NOT_FOUND);

    assertEquals(new Result(Source.PEER, NOT_FOUND), value(f));
    assertTrue(origin.calls.isEmpty(), "a 404 from the owner is not a reason to fall back");
    assertNull(hot.peek(KEY));
    assertNull(main.peek(KEY));
    assertTrue(events.peerFailures.isEmpty());
  }

  @Test
  void ownerNonStorableAnswerIsNotHot() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CachedResponse uncacheable = response(200, "image/png", "x", "Cache-Control", "no-store");
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    owner.futures.get(0).complete(uncacheable);
    assertEquals(new Result(Source.PEER, uncacheable), value(f));
    assertNull(hot.peek(KEY));
  }

  @Test
  void busyOwnerFallsBackButIsNotReportedUnhealthy() throws Exception {
    // Regression: a full peer pool (our own back-pressure) made healthy owners leave the ring.
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    owner.futures.get(0).completeExceptionally(new PeerException("no connection free", null, false));
    origin.only().future().complete(PNG);

    assertEquals(new Result(Source.FALLBACK, PNG), value(f));
    assertTrue(events.peerFailures.isEmpty(), "a busy owner is not a failed owner");
    assertEquals(1, events.fallbacks.get());
    assertNull(main.peek(KEY));
  }

  @Test
  void ownerFailureFallsBackToOriginWithoutStoring() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);

    CompletableFuture<Result> a = group.get(KEY, TARGET, CLIENT);
    CompletableFuture<Result> b = group.get(KEY, TARGET, CLIENT);
    owner.futures.get(0).completeExceptionally(new IllegalStateException("connection refused"));

    FakeOrigin.Call call = origin.only();
    assertEquals(TARGET, call.target());
    assertEquals(CLIENT, call.forwardedFor());
    assertEquals(List.of("http://10.0.0.2:9000"), events.peerFailures);
    assertEquals(1, events.fallbacks.get());
    call.future().complete(PNG);

    assertEquals(new Result(Source.FALLBACK, PNG), value(a));
    assertEquals(new Result(Source.FALLBACK, PNG), value(b));
    assertNull(main.peek(KEY), "a fallback load is never stored in the main cache");
    assertNull(hot.peek(KEY));
    assertNull(group.lookup(KEY));
    assertEquals(1, owner.fetched.size());
  }

  @Test
  void fallbackThatFailsFailsTheWaitersAndTheNextGetTriesTheOwnerAgain() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    owner.futures.get(0).completeExceptionally(new IllegalStateException("timed out"));
    IllegalStateException originDown = new IllegalStateException("origin down too");
    origin.only().future().completeExceptionally(originDown);
    assertSame(originDown, failureOf(f));

    group.get(KEY, TARGET, CLIENT);
    assertEquals(2, owner.fetched.size());
  }

  @Test
  void objectTooLargeFromOwnerIsNotAPeerFailure() {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(KEY, TARGET, CLIENT);
    ObjectTooLargeException tooLarge = new ObjectTooLargeException("body over 8388608 bytes");
    owner.futures.get(0).completeExceptionally(tooLarge);

    assertSame(tooLarge, failureOf(f));
    assertTrue(origin.calls.isEmpty());
    assertTrue(events.peerFailures.isEmpty());
    assertEquals(0, events.fallbacks.get());
  }

  @Test
  void keyInHotCacheIsServedWithoutAskingTheOwner() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    hot.put(KEY, PNG);
    assertEquals(new Result(Source.HIT_HOT, PNG), value(group.get(KEY, TARGET, CLIENT)));
    assertTrue(owner.fetched.isEmpty());
  }

  @Test
  void ownerIsChosenPerKey() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> key.startsWith("/remote") ? owner : null);
    CompletableFuture<Result> local = group.get("/local", "/local", CLIENT);
    CompletableFuture<Result> remote = group.get("/remote", "/remote", CLIENT);
    assertEquals(List.of("/remote"), owner.fetched);
    assertEquals("/local", origin.only().target());
    origin.only().future().complete(PNG);
    owner.futures.get(0).complete(PNG);
    assertEquals(Source.MISS, value(local).source());
    assertEquals(Source.PEER, value(remote).source());
    if (main.peek("/remote") != null) {
      fail("non-owner stored /remote in its main cache");
    }
    assertNotNull(main.peek("/local"));
  }
}
