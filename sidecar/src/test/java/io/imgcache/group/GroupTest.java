package io.imgcache.group;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.imgcache.cache.CacheControl;
import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.FakeClock;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.ResponseCaches;
import io.imgcache.cache.Variants;
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

/**
 * The group's get/load logic (DESIGN §1) and the shared-cache behaviour it owns (DESIGN §4): fakes
 * for the origin and the peers that the test completes by hand, a fake wall clock for freshness.
 * Deadlines are the group's own real-time timeouts (LONG unless a test is about them).
 */
class GroupTest {
  private static final String KEY = "/v2/image/png/003?h=200&w=850";
  private static final String CLIENT = "192.0.2.7";
  private static final Duration LONG = Duration.ofSeconds(30);
  private static final List<String> FORMATS = List.of("image/avif", "image/webp");

  private final FakeClock clock = new FakeClock();
  private final CachePolicy policy = CachePolicy.builder().clock(clock).build();
  private final ResponseCache main = ResponseCaches.create(1 << 20, clock, clock);
  private final ResponseCache hot = ResponseCaches.create(1 << 20, clock, clock);
  private final Variants variants = new Variants(FORMATS, 10_000, key -> {
    main.invalidate(key);
    hot.invalidate(key);
  });
  private final FakeOrigin origin = new FakeOrigin();
  private final RecordingEvents events = new RecordingEvents();

  private final CachedResponse png = response(200, "image/png", "png-bytes");
  private final CachedResponse notFound = response(404, "text/plain", "no such image");

  /** A client's request: what a load forwards (X-Forwarded-For included). */
  private static Request request(String key, String... headers) {
    List<String> all = new ArrayList<>(List.of("X-Forwarded-For", CLIENT));
    all.addAll(List.of(headers));
    return new Request(key, all, CacheControl.NONE, false);
  }

  private static Request withCacheControl(String key, String cacheControl) {
    return new Request(key, List.of("X-Forwarded-For", CLIENT, "Cache-Control", cacheControl),
        CacheControl.parse(cacheControl), false);
  }

  private static final Request REQ = request(KEY);

  private CachedResponse response(int status, String type, String body, String... moreHeaders) {
    return response(policy, status, type, body, moreHeaders);
  }

  private static CachedResponse response(CachePolicy policy, int status, String type, String body,
      String... moreHeaders) {
    List<String> headers = new ArrayList<>(List.of("Content-Type", type));
    headers.addAll(List.of(moreHeaders));
    // Off-heap already, as caches keep them, so assertSame holds on what a cache stored.
    return policy.response(status, headers, body.getBytes(StandardCharsets.UTF_8)).offHeap();
  }

  private Group group(PeerPicker peers) {
    return group(peers, LONG);
  }

  private Group group(PeerPicker peers, Duration deadline) {
    return new Group("imgcache2", main, hot, variants, peers, origin, policy, deadline, events);
  }

  private static Result value(CompletableFuture<Result> f) throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  private Result lookup(Group group, String key) {
    return group.lookup(key, REQ, CacheControl.NONE, false);
  }

  /** Loads {@code response} into the main cache through a MISS, as this node owns KEY. */
  private void stored(Group group, CachedResponse response) throws Exception {
    CompletableFuture<Result> f = group.get(REQ);
    origin.last().future().complete(response);
    assertEquals(Source.MISS, value(f).source());
    assertSame(response, main.peek(KEY), "stored");
  }

  /** An origin whose loads and revalidations the test completes by hand. Thread-safe. */
  static final class FakeOrigin implements OriginLoader {
    record Call(Request request, CompletableFuture<CachedResponse> future) {}

    record Revalidate(Request request, CachedResponse stored, CompletableFuture<Revalidation> future) {}

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final List<Revalidate> revalidations = new CopyOnWriteArrayList<>();
    volatile RuntimeException throwOnLoad;

    @Override
    public CompletableFuture<CachedResponse> load(Request request) {
      RuntimeException toThrow = throwOnLoad;
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      calls.add(new Call(request, future));
      if (toThrow != null) {
        throw toThrow;
      }
      return future;
    }

    @Override
    public CompletableFuture<Revalidation> revalidate(Request request, CachedResponse stored) {
      CompletableFuture<Revalidation> future = new CompletableFuture<>();
      revalidations.add(new Revalidate(request, stored, future));
      return future;
    }

    Call only() {
      assertEquals(1, calls.size(), "origin loads");
      return calls.get(0);
    }

    Call last() {
      return calls.get(calls.size() - 1);
    }

    Revalidate onlyRevalidation() {
      assertEquals(1, revalidations.size(), "origin revalidations");
      return revalidations.get(0);
    }
  }

  /** Another node whose answers the test completes by hand. */
  static final class FakePeer implements PeerPicker.Peer {
    final String url;
    final List<Request> fetched = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<CachedResponse>> futures = new CopyOnWriteArrayList<>();
    final List<Request> fetchedCached = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<CachedResponse>> cachedFutures = new CopyOnWriteArrayList<>();

    FakePeer(String url) {
      this.url = url;
    }

    @Override
    public String url() {
      return url;
    }

    @Override
    public CompletableFuture<CachedResponse> fetch(Request request) {
      fetched.add(request);
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      futures.add(future);
      return future;
    }

    @Override
    public CompletableFuture<CachedResponse> fetchCached(Request request) {
      fetchedCached.add(request);
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      cachedFutures.add(future);
      return future;
    }

    final List<Request> loadedFor = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<CachedResponse>> loadForFutures = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<CachedResponse> loadFor(Request request) {
      loadedFor.add(request);
      CompletableFuture<CachedResponse> future = new CompletableFuture<>();
      loadForFutures.add(future);
      return future;
    }
  }

  /** This node owns every key; {@code alternate} loads for it when its origin fails. */
  static final class FailoverPicker implements PeerPicker {
    final PeerPicker.Peer alternate;

    FailoverPicker(PeerPicker.Peer alternate) {
      this.alternate = alternate;
    }

    @Override
    public PeerPicker.Peer ownerOf(String key) {
      return null;
    }

    @Override
    public PeerPicker.Peer alternateFor(String key) {
      return alternate;
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
    /** "start URL", "answered URL", "failed URL": what the health monitor hears of owner fetches. */
    final List<String> fetches = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void peerFetchStarted(String peerUrl) {
      fetches.add("start " + peerUrl);
    }

    @Override
    public void peerFetchEnded(String peerUrl, boolean answered) {
      fetches.add((answered ? "answered " : "failed ") + peerUrl);
    }

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
      results.add(group.get(REQ));
    }
    FakeOrigin.Call call = origin.only();
    assertSame(REQ, call.request(), "the client's headers travel with the load");
    assertEquals(KEY, call.request().target());
    assertEquals(CLIENT, call.request().get("x-forwarded-for"));
    assertEquals(callers - 1, events.coalesced.get());
    assertFalse(results.get(0).isDone());

    call.future().complete(png);
    for (CompletableFuture<Result> f : results) {
      Result r = value(f);
      assertEquals(Source.MISS, r.source());
      assertSame(png, r.response());
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
          return group.get(REQ);
        }));
      }
      start.countDown();
      List<CompletableFuture<Result>> results = new ArrayList<>();
      for (Future<CompletableFuture<Result>> f : started) {
        results.add(f.get(10, TimeUnit.SECONDS));
      }
      origin.only().future().complete(png);
      for (CompletableFuture<Result> f : results) {
        assertSame(png, value(f).response());
      }
      assertEquals(threads - 1, events.coalesced.get());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void cancelledWaiterDoesNotCancelTheLoadForTheOthers() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> first = group.get(REQ);
    CompletableFuture<Result> second = group.get(REQ);
    CompletableFuture<Result> third = group.get(REQ);

    first.cancel(true);
    FakeOrigin.Call call = origin.only();
    assertFalse(call.future().isCancelled());
    call.future().complete(png);

    assertSame(png, value(second).response());
    assertSame(png, value(third).response());
    assertSame(png, main.peek(KEY));
  }

  @Test
  void waiterTimingOutDoesNotCancelTheLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY, Duration.ofMillis(1));
    CompletableFuture<Result> impatient = group.get(REQ);
    assertInstanceOf(TimeoutException.class, failureOf(impatient));

    // The load is still in flight: a new caller joins it rather than starting another.
    CompletableFuture<Result> alsoImpatient = group.get(REQ);
    assertEquals(1, events.coalesced.get());
    FakeOrigin.Call call = origin.only();
    assertFalse(call.future().isCancelled());

    call.future().complete(png);
    assertSame(png, main.peek(KEY));
    Result hit = lookup(group, KEY);
    assertEquals(Source.HIT, hit.source());
    assertSame(png, hit.response());
    assertEquals(1, origin.calls.size());
    // The second waiter either got the answer or timed out on its own: never a cancellation.
    assertFalse(alsoImpatient.isCancelled());
  }

  @Test
  void failedLoadFailsEveryWaiterAndTheNextGetLoadsAgain() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    // No answer at all (refused, reset, timed out): the only kind of load failure now.
    IllegalStateException boom = new IllegalStateException("connection refused");
    origin.only().future().completeExceptionally(boom);

    assertSame(boom, failureOf(a));
    assertSame(boom, failureOf(b));
    assertNull(main.peek(KEY));
    assertNull(lookup(group, KEY));

    CompletableFuture<Result> retry = group.get(REQ);
    assertEquals(2, origin.calls.size());
    origin.last().future().complete(png);
    assertEquals(Source.MISS, value(retry).source());
    assertSame(png, main.peek(KEY));
  }

  /** Issue 10 item 5: the owner's origin gives no answer; a peer's origin loads it, the owner stores it. */
  @Test
  void anOwnerWhoseOriginFailsLoadsThroughAnAlternateAndStoresTheAnswer() throws Exception {
    FakePeer alternate = new FakePeer("http://alternate:9000");
    Group group = group(new FailoverPicker(alternate));
    CompletableFuture<Result> a = group.get(REQ);
    origin.only().future().completeExceptionally(new OriginException(502, "origin unreachable", null));
    assertEquals(List.of(REQ), alternate.loadedFor, "asked the alternate to load for us");
    alternate.loadForFutures.get(0).complete(png);
    assertSame(png, value(a).response());
    assertSame(png, main.peek(KEY), "the owner stores what the alternate loaded");
  }

  @Test
  void anOriginServerErrorIsRetriedThroughTheAlternateWhoseAnswerStands() throws Exception {
    FakePeer alternate = new FakePeer("http://alternate:9000");
    Group group = group(new FailoverPicker(alternate));
    CompletableFuture<Result> a = group.get(REQ);
    origin.only().future().complete(response(500, "text/plain", "broken"));
    alternate.loadForFutures.get(0).complete(png);
    assertSame(png, value(a).response());
  }

  @Test
  void whenTheAlternateFailsTooTheLocalOutcomeStands() throws Exception {
    FakePeer alternate = new FakePeer("http://alternate:9000");
    Group group = group(new FailoverPicker(alternate));
    CompletableFuture<Result> a = group.get(REQ);
    OriginException local = new OriginException(504, "origin timed out", null);
    origin.only().future().completeExceptionally(local);
    alternate.loadForFutures.get(0).completeExceptionally(new PeerException("down", null, true));
    assertSame(local, failureOf(a));
  }

  @Test
  void aBusyOriginIsNotFailedOver() throws Exception {
    FakePeer alternate = new FakePeer("http://alternate:9000");
    Group group = group(new FailoverPicker(alternate));
    CompletableFuture<Result> a = group.get(REQ);
    origin.only().future().completeExceptionally(new OriginException(503, "origin busy", null));
    assertTrue(alternate.loadedFor.isEmpty(), "our own back-pressure is not the origin failing");
    assertEquals(503, ((OriginException) failureOf(a)).status());
  }

  /**
   * DESIGN §4 "Origin failures" (changed: an origin 5xx used to be a failed load): a 5xx is an
   * answer, passed on as sent to every waiter, never stored; the next get loads again.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(ints = {500, 503})
  void originServerErrorIsPassedOnToEveryWaiterAndNotStored(int status) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    CachedResponse error = response(status, "text/plain", "imgfit broke", "Cache-Control", "max-age=60",
        "X-Imgfit-Error", "oom");
    origin.only().future().complete(error);

    for (CompletableFuture<Result> f : List.of(a, b)) {
      Result r = value(f);
      assertEquals(Source.MISS, r.source());
      assertSame(error, r.response(), "status, headers and body as sent");
    }
    assertNull(main.peek(KEY));
    assertNull(hot.peek(KEY));
    group.get(REQ);
    assertEquals(2, origin.calls.size());
  }

  @Test
  void loaderThatThrowsIsHandledLikeAFailedLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    IllegalStateException boom = new IllegalStateException("pool closed");
    origin.throwOnLoad = boom;

    CompletableFuture<Result> a = group.get(REQ);
    assertSame(boom, failureOf(a));
    assertNull(main.peek(KEY));

    origin.throwOnLoad = null;
    CompletableFuture<Result> retry = group.get(REQ);
    assertEquals(2, origin.calls.size());
    origin.last().future().complete(png);
    assertSame(png, value(retry).response());
  }

  @Test
  void storableLoadIsStoredAndThenAHit() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    assertNull(lookup(group, KEY));
    CompletableFuture<Result> f = group.get(REQ);
    origin.only().future().complete(png);
    assertEquals(new Result(Source.MISS, png, KEY), value(f));

    assertSame(png, main.peek(KEY));
    assertNull(hot.peek(KEY));
    assertEquals(new Result(Source.HIT, png, KEY), lookup(group, KEY));
    assertEquals(new Result(Source.HIT, png, KEY), value(group.get(REQ)));
    assertSame(png, group.peek(REQ));
    assertEquals(1, origin.calls.size());
  }

  /**
   * Nothing private is shared (DESIGN §1): the loader's client gets it; it is not stored, and the
   * key is loaded per request for a while (PASS) rather than coalesced.
   */
  @ParameterizedTest
  @ValueSource(strings = {"Cache-Control: no-store", "Cache-Control: private, max-age=60", "Set-Cookie: s=1"})
  void nonShareableResponseReachesItsOwnClientOnlyAndIsNotStored(String header) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    String[] nameValue = header.split(": ", 2);
    CachedResponse mine = response(200, "image/png", "fresh", nameValue[0], nameValue[1]);
    CompletableFuture<Result> f = group.get(REQ);
    origin.only().future().complete(mine);

    assertEquals(Source.MISS, value(f).source());
    assertSame(mine, value(f).response());
    assertNull(main.peek(KEY));
    assertNull(lookup(group, KEY));
    CompletableFuture<Result> next = group.get(REQ);
    assertEquals(2, origin.calls.size());
    CachedResponse theirs = response(200, "image/png", "fresh", nameValue[0], nameValue[1]);
    origin.last().future().complete(theirs);
    assertEquals(Source.PASS, value(next).source());
    assertSame(theirs, value(next).response());
  }

  /** DESIGN §1: a coalesced waiter never receives a non-shareable response — it gets its own load. */
  @ParameterizedTest
  @ValueSource(strings = {"Set-Cookie: session=alice", "Cache-Control: private", "Cache-Control: no-store"})
  void coalescedWaiterNeverReceivesANonShareableResponse(String header) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    String[] nameValue = header.split(": ", 2);
    Request alice = request(KEY, "X-User", "alice");
    Request bob = request(KEY, "X-User", "bob");
    CompletableFuture<Result> a = group.get(alice);
    CompletableFuture<Result> b = group.get(bob);
    assertEquals(1, events.coalesced.get(), "joined: nobody knew yet");

    CachedResponse forAlice = response(200, "image/png", "alice's", nameValue[0], nameValue[1]);
    origin.only().future().complete(forAlice);
    assertSame(forAlice, value(a).response());
    assertFalse(b.isDone(), "bob waits for a load of his own");
    assertEquals(2, origin.calls.size());
    assertSame(bob, origin.last().request());

    CachedResponse forBob = response(200, "image/png", "bob's", nameValue[0], nameValue[1]);
    origin.last().future().complete(forBob);
    assertSame(forBob, value(b).response());
    assertEquals(Source.PASS, value(b).source());
    assertNull(main.peek(KEY));
  }

  @Test
  void coalescedWaiterOfAFallbackNeverReceivesANonShareableResponse() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    owner.futures.get(0).completeExceptionally(new PeerException("refused", null, true));
    CachedResponse withCookie = response(200, "image/png", "x", "Set-Cookie", "s=1");
    origin.only().future().complete(withCookie);
    assertEquals(new Result(Source.FALLBACK, withCookie), value(a));
    assertEquals(2, origin.calls.size());
    CachedResponse second = response(200, "image/png", "y", "Set-Cookie", "s=2");
    origin.last().future().complete(second);
    assertSame(second, value(b).response());
  }

  @Test
  void rfc9111_3_temporaryRedirectWithoutFreshnessIsReturnedButNotStored() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse moved = response(302, "text/plain", "", "Location", "/elsewhere");
    CompletableFuture<Result> f = group.get(REQ);
    origin.only().future().complete(moved);
    assertSame(moved, value(f).response());
    assertNull(main.peek(KEY));
  }

  /**
   * Changed: the old cache never stored redirects. RFC 9111 §3 lets a shared cache store a 301/308
   * (cacheable by default) and any status with explicit freshness, such as a 302 with max-age.
   */
  @ParameterizedTest
  @ValueSource(strings = {"301", "308", "302 max-age=60"})
  void rfc9111_3_redirectCacheableByDefaultOrWithExplicitFreshnessIsStored(String spec) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    String[] parts = spec.split(" ");
    CachedResponse moved = parts.length == 1
        ? response(Integer.parseInt(parts[0]), "text/plain", "", "Location", "/elsewhere")
        : response(Integer.parseInt(parts[0]), "text/plain", "", "Location", "/elsewhere", "Cache-Control", parts[1]);
    stored(group, moved);
    assertEquals(new Result(Source.HIT, moved, KEY), value(group.get(REQ)));
    assertEquals(1, origin.calls.size());
  }

  @Test
  void notFoundIsNotStoredWhenNegativeTtlIsZero() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.get(REQ);
    origin.only().future().complete(notFound);

    assertEquals(new Result(Source.MISS, notFound, KEY), value(f));
    assertNull(main.peek(KEY));
    assertNull(lookup(group, KEY));
  }

  @Test
  void notFoundIsStoredForNegativeTtl() throws Exception {
    CachePolicy negative = CachePolicy.builder().clock(clock).negativeTtl(Duration.ofSeconds(5)).build();
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse missing = response(negative, 404, "text/plain", "no such image");
    stored(group, missing);
    clock.advanceSeconds(4);
    assertEquals(Source.HIT, value(group.get(REQ)).source());
    clock.advanceSeconds(2);
    group.get(REQ);
    assertEquals(2, origin.calls.size(), "5 s later it is gone");
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

    Request fromPeer = Request.of(KEY);
    CompletableFuture<Result> f = group.getAsOwner(fromPeer);
    FakeOrigin.Call call = origin.only();
    assertEquals(KEY, call.request().target());
    assertNull(call.request().get("x-forwarded-for"));
    call.future().complete(png);

    assertEquals(new Result(Source.MISS, png, KEY), value(f));
    assertNull(main.peek(KEY), "our ring says another node owns it");
    assertSame(png, hot.peek(KEY));
    assertEquals(new Result(Source.HIT_HOT, png, KEY), value(group.getAsOwner(fromPeer)));
    assertEquals(1, origin.calls.size());
    assertTrue(other.fetched.isEmpty());
  }

  @Test
  void getAsOwnerOfAKeyThisNodeOwnsKeepsItInTheMainCache() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.getAsOwner(Request.of(KEY));
    origin.only().future().complete(png);
    assertEquals(new Result(Source.MISS, png, KEY), value(f));
    assertSame(png, main.peek(KEY));
    assertEquals(new Result(Source.HIT, png, KEY), value(group.getAsOwner(Request.of(KEY))));
  }

  @Test
  void getAsOwnerInWarmUpOnlyAsksThePreviousOwnerForItsCopy() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    FakePicker picker = new FakePicker(new FakePeer("http://10.0.0.2:9000"), previous);
    Group group = group(picker);

    Request fromPeer = Request.of(KEY);
    CompletableFuture<Result> f = group.getAsOwner(fromPeer);
    assertEquals(List.of(fromPeer), previous.fetchedCached);
    assertTrue(previous.fetched.isEmpty(), "fetch() would make the previous owner load: a second hop");
    previous.cachedFutures.get(0).complete(png);
    assertSame(png, value(f).response());
  }

  @Test
  void warmUpTakesThePreviousOwnersCopyAndStoresIt() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    Group group = group(new FakePicker(null, previous));

    CompletableFuture<Result> f = group.get(REQ);
    assertEquals(List.of(REQ), previous.fetchedCached, "with the client's headers");
    previous.cachedFutures.get(0).complete(png);
    assertSame(png, value(f).response());
    assertTrue(origin.calls.isEmpty());
    assertSame(png, main.peek(KEY));
  }

  @Test
  void warmUpMissLoadsFromTheOriginAndIsNotAPeerFailure() throws Exception {
    FakePeer previous = new FakePeer("http://10.0.0.3:9000");
    Group group = group(new FakePicker(null, previous));

    CompletableFuture<Result> f = group.get(REQ);
    previous.cachedFutures.get(0).completeExceptionally(new IllegalStateException("not cached"));
    FakeOrigin.Call call = origin.only();
    assertSame(REQ, call.request());
    call.future().complete(png);
    assertEquals(new Result(Source.MISS, png, KEY), value(f));
    assertSame(png, main.peek(KEY));
    assertTrue(events.peerFailures.isEmpty());
  }

  @Test
  void demoteNotOwnedMovesOnlyKeysOwnedElsewhereToTheHotCache() {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse mine = response(200, "image/png", "mine");
    main.put("/mine", mine);
    main.put("/theirs", png);
    main.put("/theirs-404", response(CachePolicy.builder().clock(clock).negativeTtl(Duration.ofSeconds(60)).build(),
        404, "text/plain", "gone"));

    assertEquals(2, group.demoteNotOwned(key -> key.equals("/mine")));
    assertSame(mine, main.peek("/mine"));
    assertNull(main.peek("/theirs"));
    assertSame(png, hot.peek("/theirs"));
    assertNull(main.peek("/theirs-404"));
    assertNull(hot.peek("/theirs-404"), "the hot cache holds 200s only");
    assertEquals(new Result(Source.HIT_HOT, png, "/theirs"), lookup(group, "/theirs"));
  }

  /**
   * Regression (chaos scenario 7, 5 origin loads where 0 were allowed): a demoted key was out of
   * main before it was in hot, and the new owner's warm-up request, arriving during the sweep the
   * same ring change starts, found neither. Now at every moment one of the two holds it.
   */
  @Test
  void aDemotedKeyIsAlwaysInOneOfTheCachesWhileItMoves() {
    List<String> gaps = new ArrayList<>();
    ResponseCache watchedMain = new ResponseCache() {
      @Override
      public CachedResponse get(String key) {
        return main.get(key);
      }

      @Override
      public CachedResponse peek(String key) {
        return main.peek(key);
      }

      @Override
      public void put(String key, CachedResponse value) {
        main.put(key, value);
      }

      @Override
      public void forEachKey(java.util.function.Consumer<String> action) {
        main.forEachKey(action);
      }

      @Override
      public boolean invalidate(String key) {
        if (hot.peek(key) == null) {
          gaps.add(key); // leaving main while hot does not hold it yet: a warm-up request now misses
        }
        return main.invalidate(key);
      }

      @Override
      public Stats stats() {
        return main.stats();
      }
    };
    Group group = new Group("imgcache2", watchedMain, hot, variants, PeerPicker.SELF_ONLY, origin, policy, LONG, events);
    main.put("/theirs-1", png);
    main.put("/theirs-2", png);

    assertEquals(2, group.demoteNotOwned(key -> false));

    assertEquals(List.of(), gaps);
    assertSame(png, hot.peek("/theirs-1"));
    assertNull(main.peek("/theirs-1"));
  }

  /** A disk tier the test fills by hand; reads complete at once. */
  static final class FakeDisk implements DiskTier {
    final java.util.Map<String, CachedResponse> files = new java.util.concurrent.ConcurrentHashMap<>();
    final List<String> writes = new CopyOnWriteArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public CompletableFuture<CachedResponse> read(String key) {
      return CompletableFuture.completedFuture(files.get(key));
    }

    @Override
    public void write(String key, CachedResponse response) {
      writes.add(key);
      files.put(key, response);
    }

    @Override
    public void invalidate(String key) {
      files.keySet().removeIf(k -> k.equals(key) || k.startsWith(key + '\0'));
    }

    @Override
    public int ban(String prefix) {
      int before = files.size();
      files.keySet().removeIf(k -> k.startsWith(prefix));
      return before - files.size();
    }
  }

  private Group group(PeerPicker peers, DiskTier disk) {
    return new Group("imgcache2", main, hot, variants, peers, origin, policy, LONG, events, disk);
  }

  @Test
  void theOwnerAnswersFromItsDiskBeforeLoadingAndWritesWhatItStores() throws Exception {
    FakeDisk disk = new FakeDisk();
    Group group = group(PeerPicker.SELF_ONLY, disk);
    disk.files.put(KEY, png);

    Result answer = value(group.get(REQ));

    assertEquals(Source.HIT_DISK, answer.source());
    assertSame(png, answer.response());
    assertTrue(origin.calls.isEmpty(), "no origin load");
    assertSame(png, main.peek(KEY), "back in memory");
    assertEquals(Source.HIT, lookup(group, KEY).source());

    String other = "/v2/image/png/004?w=1";
    CompletableFuture<Result> load = group.get(request(other));
    origin.last().future().complete(png);
    assertEquals(Source.MISS, value(load).source());
    assertEquals(List.of(other), disk.writes, "the owner's main copy goes to disk");
  }

  /**
   * A disk read that lends its body (a pooled buffer) answers its one request as it is — not kept
   * in memory, not released here (its writer does that) — unless it has to be revalidated: then an
   * owned copy is taken (the lent body given back) and that one is kept and revalidated.
   */
  @Test
  void aLentDiskReadAnswersItsOwnRequestAndOnlyAnOwnedCopyIsKept() throws Exception {
    FakeDisk disk = new FakeDisk();
    Group group = group(PeerPicker.SELF_ONLY, disk);
    AtomicInteger released = new AtomicInteger();
    CachedResponse fresh = response(200, "image/png", "png-bytes", "Cache-Control", "max-age=10", "ETag", "\"v1\"");
    CachedResponse lent = fresh.withBody(fresh.body(), released::incrementAndGet);
    disk.files.put(KEY, lent);

    Result answer = value(group.get(REQ));

    assertEquals(Source.HIT_DISK, answer.source());
    assertSame(lent, answer.response());
    assertNull(main.peek(KEY), "a lent body is never kept");
    assertEquals(0, released.get(), "its writer releases it, once written");

    clock.advanceSeconds(11); // stale: revalidated, from an owned copy
    CompletableFuture<Result> revalidated = group.get(REQ);
    assertEquals(1, released.get(), "the lent body went back when the copy was taken");
    FakeOrigin.Revalidate revalidation = origin.onlyRevalidation();
    assertFalse(revalidation.stored().lent(), "the copy is revalidated, not the lent one");
    assertArrayEquals(fresh.bodyBytes(), revalidation.stored().bodyBytes());
    long now = clock.now();
    CachedResponse refreshed = policy.refreshed(revalidation.stored(), List.of("Cache-Control", "max-age=600",
        "Date", clock.httpDate(0)), now, now);
    revalidation.future().complete(new OriginLoader.Revalidation(refreshed, true));
    Result result = value(revalidated);
    assertSame(refreshed, result.response());
    assertFalse(result.response().lent());
    assertSame(refreshed, main.peek(KEY), "the revalidated copy is kept");
    assertEquals(1, released.get());
  }

  @Test
  void warmUpQuestionsAreAnsweredFromDiskTooButNotWithABannedCopy() throws Exception {
    FakeDisk disk = new FakeDisk();
    Group group = group(PeerPicker.SELF_ONLY, disk);
    disk.files.put(KEY, png);
    assertSame(png, group.cached(REQ).get(10, TimeUnit.SECONDS));
    clock.advanceSeconds(1);
    group.ban("ban-disk", "/v2/image/png/005");
    disk.files.put("/v2/image/png/005?w=1", png); // a copy from before the ban that its walk missed
    assertNull(group.cached(request("/v2/image/png/005?w=1")).get(10, TimeUnit.SECONDS));
  }

  @Test
  void demoteNotOwnedJudgesVariantsByTheirBaseKey() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    Request webp = request(KEY, "Accept", "image/webp");
    CompletableFuture<Result> f = group.get(webp);
    origin.only().future().complete(response(200, "image/webp", "w", "Vary", "Accept"));
    String variant = value(f).variantKey();
    assertNotEquals(KEY, variant);
    assertNotNull(main.peek(variant));

    assertEquals(0, group.demoteNotOwned(key -> key.equals(KEY)));
    assertEquals(1, group.demoteNotOwned(key -> false));
    assertNotNull(hot.peek(variant));
  }

  @Test
  void getAsOwnerCoalescesWithClientGets() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> client = group.get(REQ);
    CompletableFuture<Result> peer = group.getAsOwner(Request.of(KEY));
    origin.only().future().complete(png);
    assertSame(png, value(client).response());
    assertSame(png, value(peer).response());
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

    CompletableFuture<Result> client = group.get(REQ);
    assertEquals(List.of(REQ), other.fetched);

    CompletableFuture<Result> asOwner = group.getAsOwner(Request.of(KEY));
    assertEquals(1, origin.calls.size(), "getAsOwner must load from this node's origin");
    origin.only().future().complete(png);
    Result r = value(asOwner);
    assertEquals(Source.MISS, r.source());
    assertNull(main.peek(KEY), "our ring names another owner: not ours to keep in the main cache");
    assertEquals(1, other.fetched.size());

    other.futures.get(0).complete(png);
    assertEquals(Source.PEER, value(client).source());
  }

  @Test
  void purgeRemovesFromBothCaches() {
    Group group = group(PeerPicker.SELF_ONLY);
    main.put(KEY, png);
    hot.put(KEY, png);
    assertEquals(new Group.Holding(true, true), group.holding(KEY));
    assertEquals(2, group.purge(KEY));
    assertNull(lookup(group, KEY));
    assertEquals(new Group.Holding(false, false), group.holding(KEY));
    assertEquals(0, group.purge(KEY));
  }

  @Test
  void purgeRemovesEveryVariant() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    List<String> stored = new ArrayList<>();
    for (String accept : List.of("image/webp", "image/avif", "text/html")) {
      CompletableFuture<Result> f = group.get(request(KEY, "Accept", accept));
      origin.last().future().complete(response(200, "image/png", accept, "Vary", "Accept"));
      stored.add(value(f).variantKey());
    }
    assertEquals(3, stored.stream().distinct().count());
    assertEquals(3, group.purge(KEY));
    for (String variant : stored) {
      assertNull(main.peek(variant));
    }
  }

  @Test
  void aBanRemovesEveryKeyUnderItsPrefixFromBothCachesAndOnlyThose() {
    Group group = group(PeerPicker.SELF_ONLY);
    main.put("/v2/image/png/003?w=1", png);
    hot.put("/v2/image/png/003?w=2", png);
    main.put("/v2/image/png/003?w=3\0accept=image/webp", png);
    main.put("/v2/image/png/004?w=1", png);

    assertEquals(3, group.ban("ban-1", "/v2/image/png/003"));

    assertNull(main.peek("/v2/image/png/003?w=1"));
    assertNull(hot.peek("/v2/image/png/003?w=2"));
    assertNull(main.peek("/v2/image/png/003?w=3\0accept=image/webp"));
    assertSame(png, main.peek("/v2/image/png/004?w=1"));
    assertEquals(0, group.ban("ban-1", "/v2/image/png/004"), "a ban delivered again applies once");
    assertSame(png, main.peek("/v2/image/png/004?w=1"));
  }

  /** Issue 14: a load that began before a ban must not store its (pre-ban) result. */
  @Test
  void aLoadThatBeganBeforeABanStoresNothingButAnswersItsCallers() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> inFlight = group.get(REQ);
    CachedResponse loaded = response(200, "image/png", "before the ban"); // requested now
    clock.advanceSeconds(1);
    group.ban("ban-2", KEY);
    origin.only().future().complete(loaded);

    assertSame(loaded, value(inFlight).response(), "its callers get it");
    assertNull(main.peek(KEY), "not stored");
    clock.advanceSeconds(1);
    stored(group, response(200, "image/png", "after the ban")); // a load after the ban is stored
  }

  /** Until the ban's walk reaches a copy, lookups treat it as gone. */
  @Test
  void aCopyRequestedBeforeABanIsNotServedEvenIfTheWalkMissedIt() {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse old = response(200, "image/png", "old");
    clock.advanceSeconds(1);
    group.ban("ban-3", KEY);
    main.put(KEY, old); // as if stored behind the walk
    assertNull(lookup(group, KEY));
    assertNull(group.peek(REQ));
    clock.advanceSeconds(1);
    CachedResponse fresh = response(200, "image/png", "new");
    main.put(KEY, fresh);
    assertEquals(new Result(Source.HIT, fresh, KEY), lookup(group, KEY));
  }

  @Test
  void lookupPrefersMainOverHot() {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse older = response(200, "image/png", "older");
    hot.put(KEY, older);
    assertEquals(new Result(Source.HIT_HOT, older, KEY), lookup(group, KEY));
    main.put(KEY, png);
    assertEquals(new Result(Source.HIT, png, KEY), lookup(group, KEY));
  }

  @Test
  void lookupAnswersOnlyFreshResponsesTheRequestMayReuse() {
    Group group = group(PeerPicker.SELF_ONLY);
    main.put(KEY, response(200, "image/png", "x", "Cache-Control", "max-age=60", "ETag", "\"v\""));
    assertNotNull(lookup(group, KEY));
    assertNull(group.lookup(KEY, REQ, CacheControl.parse("no-cache"), false));
    assertNull(group.lookup(KEY, REQ, CacheControl.NONE, true), "Authorization, and the entry is not public");
    clock.advanceSeconds(61);
    assertNull(lookup(group, KEY), "stale: get() revalidates it");
  }

  @Test
  void rejectsNonPositiveDeadline() {
    assertThrows(IllegalArgumentException.class, () -> group(PeerPicker.SELF_ONLY, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> group(PeerPicker.SELF_ONLY, Duration.ofMillis(-1)));
    assertEquals("imgcache2", group(PeerPicker.SELF_ONLY).name());
  }

  // --- another node owns the key ---

  @Test
  void ownerAnswerIsAPeerResultOfferedToTheHotCache() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);

    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    assertEquals(List.of(REQ), owner.fetched, "one fetch, with the client's headers");
    owner.futures.get(0).complete(png);

    assertEquals(new Result(Source.PEER, png, KEY), value(a));
    assertEquals(new Result(Source.PEER, png, KEY), value(b));
    assertSame(png, hot.peek(KEY));
    assertNull(main.peek(KEY), "only the owner stores a key in its main cache");
    assertEquals(new Result(Source.HIT_HOT, png, KEY), lookup(group, KEY));
    assertTrue(origin.calls.isEmpty());
    assertTrue(events.peerFailures.isEmpty());
    assertEquals(0, events.fallbacks.get());
    assertEquals(List.of("start " + owner.url(), "answered " + owner.url()), events.fetches, "one fetch, answered");
  }

  @Test
  void ownerNotFoundIsAuthoritativeAndNotHot() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(REQ);
    owner.futures.get(0).complete(notFound);

    assertEquals(new Result(Source.PEER, notFound, KEY), value(f));
    assertTrue(origin.calls.isEmpty(), "a 404 from the owner is not a reason to fall back");
    assertNull(hot.peek(KEY));
    assertNull(main.peek(KEY));
    assertTrue(events.peerFailures.isEmpty());
  }

  @Test
  void ownerServerErrorIsAuthoritativeAndNotAFallback() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(REQ);
    CachedResponse error = response(500, "text/plain", "imgfit broke");
    owner.futures.get(0).complete(error);
    assertEquals(new Result(Source.PEER, error, KEY), value(f));
    assertTrue(origin.calls.isEmpty(), "B's answer (any status) is authoritative");
    assertNull(hot.peek(KEY));
    assertTrue(events.peerFailures.isEmpty());
  }

  @Test
  void ownerNonStorableAnswerIsNotHot() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CachedResponse uncacheable = response(200, "image/png", "x", "Cache-Control", "no-store");
    CompletableFuture<Result> f = group.get(REQ);
    owner.futures.get(0).complete(uncacheable);
    assertEquals(new Result(Source.PEER, uncacheable, KEY), value(f));
    assertNull(hot.peek(KEY));
  }

  @Test
  void busyOwnerFallsBackButIsNotReportedUnhealthy() throws Exception {
    // Regression: a full peer pool (our own back-pressure) made healthy owners leave the ring.
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(REQ);
    owner.futures.get(0).completeExceptionally(new PeerException("no connection free", null, false));
    origin.only().future().complete(png);

    assertEquals(new Result(Source.FALLBACK, png), value(f));
    assertTrue(events.peerFailures.isEmpty(), "a busy owner is not a failed owner");
    assertEquals(List.of("start " + owner.url(), "failed " + owner.url()), events.fetches, "but the fetch ended");
    assertEquals(1, events.fallbacks.get());
    assertNull(main.peek(KEY));
  }

  @Test
  void ownerFailureFallsBackToOriginWithoutStoring() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);

    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    owner.futures.get(0).completeExceptionally(new IllegalStateException("connection refused"));

    FakeOrigin.Call call = origin.only();
    assertSame(REQ, call.request(), "the same canonical target and the client's headers");
    assertEquals(List.of("http://10.0.0.2:9000"), events.peerFailures);
    assertEquals(List.of("start " + owner.url(), "failed " + owner.url()), events.fetches);
    assertEquals(1, events.fallbacks.get());
    call.future().complete(png);

    assertEquals(new Result(Source.FALLBACK, png), value(a));
    assertEquals(new Result(Source.FALLBACK, png), value(b));
    assertNull(main.peek(KEY), "a fallback load is never stored in the main cache");
    assertNull(hot.peek(KEY));
    assertNull(lookup(group, KEY));
    assertEquals(1, owner.fetched.size());
  }

  @Test
  void fallbackThatFailsFailsTheWaitersAndTheNextGetTriesTheOwnerAgain() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(REQ);
    owner.futures.get(0).completeExceptionally(new IllegalStateException("timed out"));
    IllegalStateException originDown = new IllegalStateException("origin down too");
    origin.only().future().completeExceptionally(originDown);
    assertSame(originDown, failureOf(f));

    group.get(REQ);
    assertEquals(2, owner.fetched.size());
  }

  @Test
  void objectTooLargeFromOwnerIsNotAPeerFailure() {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CompletableFuture<Result> f = group.get(REQ);
    ObjectTooLargeException tooLarge = new ObjectTooLargeException("body over 8388608 bytes");
    owner.futures.get(0).completeExceptionally(tooLarge);

    assertSame(tooLarge, failureOf(f));
    assertTrue(origin.calls.isEmpty());
    assertTrue(events.peerFailures.isEmpty());
    assertEquals(List.of("start " + owner.url(), "answered " + owner.url()), events.fetches, "the owner answered");
    assertEquals(0, events.fallbacks.get());
  }

  @Test
  void keyInHotCacheIsServedWithoutAskingTheOwner() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    hot.put(KEY, png);
    assertEquals(new Result(Source.HIT_HOT, png, KEY), value(group.get(REQ)));
    assertTrue(owner.fetched.isEmpty());
  }

  @Test
  void staleHotCopyIsRevalidatedByAskingItsOwner() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    hot.put(KEY, response(200, "image/png", "old", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    assertTrue(origin.revalidations.isEmpty() && origin.calls.isEmpty(), "the owner revalidates its own copy");
    CachedResponse fresh = response(200, "image/png", "new", "Cache-Control", "max-age=60", "ETag", "\"v1\"");
    owner.futures.get(0).complete(fresh);
    assertEquals(new Result(Source.PEER, fresh, KEY), value(f));
    assertSame(fresh, hot.peek(KEY));
  }

  @Test
  void ownerIsChosenPerKey() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> key.startsWith("/remote") ? owner : null);
    CompletableFuture<Result> local = group.get(request("/local"));
    CompletableFuture<Result> remote = group.get(request("/remote"));
    assertEquals("/remote", owner.fetched.get(0).key());
    assertEquals(1, owner.fetched.size());
    assertEquals("/local", origin.only().request().target());
    origin.only().future().complete(png);
    owner.futures.get(0).complete(png);
    assertEquals(Source.MISS, value(local).source());
    assertEquals(Source.PEER, value(remote).source());
    if (main.peek("/remote") != null) {
      fail("non-owner stored /remote in its main cache");
    }
    assertNotNull(main.peek("/local"));
  }

  // --- Vary (RFC 9111 §4.1) ---

  @Test
  void rfc9111_4_1_acceptNormalisedToTheConfiguredFormatsSelectsTheVariant() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.get(request(KEY, "Accept", "image/webp,*/*"));
    CachedResponse webp = response(200, "image/webp", "webp", "Vary", "Accept");
    origin.only().future().complete(webp);
    assertSame(webp, value(f).response());

    Result same = value(group.get(request(KEY, "Accept", "image/webp;q=0.9")));
    assertEquals(new Result(Source.HIT, webp, value(f).variantKey()), same);
    assertEquals(1, origin.calls.size());

    Request avifRequest = request(KEY, "Accept", "image/avif,image/webp");
    CompletableFuture<Result> g = group.get(avifRequest);
    assertEquals(2, origin.calls.size(), "another variant: its own load");
    assertSame(avifRequest, origin.last().request());
    CachedResponse avif = response(200, "image/avif", "avif", "Vary", "Accept");
    origin.last().future().complete(avif);
    assertEquals(Source.MISS, value(g).source());
    assertNotEquals(value(f).variantKey(), value(g).variantKey());
    assertSame(avif, main.peek(value(g).variantKey()));
    assertSame(webp, main.peek(value(f).variantKey()));
    assertSame(avif, value(group.get(request(KEY, "Accept", "image/webp, image/avif"))).response());
  }

  @Test
  void rfc9111_4_1_waitersWhoseHeadersSelectTheSameVariantShareTheLoad() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(request(KEY, "Accept", "image/webp,*/*"));
    CompletableFuture<Result> b = group.get(request(KEY, "Accept", "image/webp;q=0.9"));
    CachedResponse webp = response(200, "image/webp", "webp", "Vary", "Accept");
    origin.only().future().complete(webp);
    assertSame(webp, value(a).response());
    assertSame(webp, value(b).response());
    assertEquals(1, origin.calls.size());
  }

  @Test
  void rfc9111_4_1_waiterWhoseVarySelectedHeadersDifferGetsItsOwnVariant() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    Request webpRequest = request(KEY, "Accept", "image/webp");
    Request avifRequest = request(KEY, "Accept", "image/avif");
    CompletableFuture<Result> a = group.get(webpRequest);
    CompletableFuture<Result> b = group.get(avifRequest);
    assertEquals(1, origin.calls.size(), "nothing known about Vary yet: one flight");

    CachedResponse webp = response(200, "image/webp", "webp", "Vary", "Accept");
    origin.only().future().complete(webp);
    assertSame(webp, value(a).response());
    assertFalse(b.isDone(), "the webp answer is not the avif client's");
    assertEquals(2, origin.calls.size());
    assertSame(avifRequest, origin.last().request());
    CachedResponse avif = response(200, "image/avif", "avif", "Vary", "Accept");
    origin.last().future().complete(avif);
    assertSame(avif, value(b).response());
    assertNotNull(main.peek(value(a).variantKey()));
    assertNotNull(main.peek(value(b).variantKey()));
  }

  @Test
  void rfc9111_4_1_waiterOfAnOwnerFetchWhoseVariantDiffersAsksTheOwnerForItsOwn() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    Request avifRequest = request(KEY, "Accept", "image/avif");
    CompletableFuture<Result> a = group.get(request(KEY, "Accept", "image/webp"));
    CompletableFuture<Result> b = group.get(avifRequest);
    owner.futures.get(0).complete(response(200, "image/webp", "webp", "Vary", "Accept"));
    assertEquals(Source.PEER, value(a).source());
    assertEquals(2, owner.fetched.size());
    assertSame(avifRequest, owner.fetched.get(1));
    CachedResponse avif = response(200, "image/avif", "avif", "Vary", "Accept");
    owner.futures.get(1).complete(avif);
    assertSame(avif, value(b).response());
    assertTrue(origin.calls.isEmpty());
  }

  @Test
  void aResponseThatStopsVaryingReplacesItsVariants() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.get(request(KEY, "Accept", "image/webp"));
    origin.only().future().complete(response(200, "image/webp", "w", "Vary", "Accept",
        "Cache-Control", "max-age=60", "ETag", "\"w\""));
    String variant = value(f).variantKey();
    assertNotNull(main.peek(variant));
    clock.advanceSeconds(61);
    CompletableFuture<Result> g = group.get(request(KEY, "Accept", "image/webp"));
    CachedResponse plain = response(200, "image/png", "p");
    origin.onlyRevalidation().future().complete(new OriginLoader.Revalidation(plain, false));
    assertEquals(KEY, value(g).variantKey());
    assertNull(main.peek(variant));
    assertSame(plain, value(group.get(request(KEY, "Accept", "image/avif"))).response());
  }

  // --- freshness, revalidation and stale answers (RFC 9111 §4, RFC 5861) ---

  @Test
  void rfc9111_4_3_staleResponseIsRevalidatedAnd304RefreshesIt() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse first = response(200, "image/png", "png-bytes", "Cache-Control", "max-age=60",
        "ETag", "\"v1\"", "X-Version", "1");
    stored(group, first);
    clock.advanceSeconds(61);

    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    FakeOrigin.Revalidate revalidation = origin.onlyRevalidation();
    assertSame(first, revalidation.stored());
    assertSame(REQ, revalidation.request());
    assertEquals(1, origin.calls.size(), "no new load: a conditional request");
    long now = clock.now();
    CachedResponse refreshed = policy.refreshed(first, List.of("Cache-Control", "max-age=600", "X-Version", "2",
        "Date", clock.httpDate(0)), now, now);
    revalidation.future().complete(new OriginLoader.Revalidation(refreshed, true));

    for (CompletableFuture<Result> f : List.of(a, b)) {
      Result r = value(f);
      assertEquals(Source.REVALIDATED, r.source());
      assertSame(refreshed, r.response());
      assertEquals("2", r.response().header("X-Version"));
      assertArrayEquals("png-bytes".getBytes(StandardCharsets.UTF_8), r.response().bodyBytes(), "the body is kept");
    }
    assertEquals("2", main.peek(KEY).header("X-Version"));
    clock.advanceSeconds(300);
    assertEquals(Source.HIT, value(group.get(REQ)).source());
    assertEquals(1, origin.revalidations.size());
  }

  @Test
  void rfc9111_4_3_revalidationAnsweredWithANewResponseReplacesTheStoredOne() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(200, "image/png", "old", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    CachedResponse changed = response(200, "image/png", "new", "Cache-Control", "max-age=60", "ETag", "\"v2\"");
    origin.onlyRevalidation().future().complete(new OriginLoader.Revalidation(changed, false));
    assertEquals(new Result(Source.MISS, changed, KEY), value(f));
    assertSame(changed, main.peek(KEY));
  }

  @Test
  void rfc9111_4_3_revalidationAnsweredWithANonStorableResponseDropsTheStoredOne() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(200, "image/png", "old", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    CachedResponse noStore = response(200, "image/png", "new", "Cache-Control", "no-store");
    origin.onlyRevalidation().future().complete(new OriginLoader.Revalidation(noStore, false));
    assertSame(noStore, value(f).response());
    assertNull(main.peek(KEY), "the old copy must not answer again");
  }

  @Test
  void staleResponseWithoutValidatorIsLoadedAgain() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(200, "image/png", "old", "Cache-Control", "max-age=60, stale-if-error=600"));
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    assertTrue(origin.revalidations.isEmpty());
    assertEquals(2, origin.calls.size());
    CachedResponse fresh = response(200, "image/png", "new", "Cache-Control", "max-age=60");
    origin.last().future().complete(fresh);
    assertEquals(new Result(Source.MISS, fresh, KEY), value(f));
  }

  @Test
  void rfc5861_3_staleWhileRevalidateServesStaleAndRevalidatesOnceInTheBackground() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse old = response(200, "image/png", "old",
        "Cache-Control", "max-age=60, stale-while-revalidate=30", "ETag", "\"v1\"");
    stored(group, old);
    clock.advanceSeconds(70);

    CompletableFuture<Result> a = group.get(REQ);
    CompletableFuture<Result> b = group.get(REQ);
    assertEquals(new Result(Source.STALE, old, KEY), a.getNow(null), "answered at once, from memory");
    assertEquals(new Result(Source.STALE, old, KEY), b.getNow(null));
    FakeOrigin.Revalidate revalidation = origin.onlyRevalidation();

    long now = clock.now();
    CachedResponse refreshed = policy.refreshed(old, List.of("Date", clock.httpDate(0)), now, now);
    revalidation.future().complete(new OriginLoader.Revalidation(refreshed, true));
    assertEquals(new Result(Source.HIT, refreshed, KEY), value(group.get(REQ)));
    assertEquals(1, origin.revalidations.size());
  }

  @Test
  void rfc5861_3_failedBackgroundRevalidationLeavesTheStaleAnswerAndTheNextRequestTriesAgain() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse old = response(200, "image/png", "old",
        "Cache-Control", "max-age=60, stale-while-revalidate=30", "ETag", "\"v1\"");
    stored(group, old);
    clock.advanceSeconds(70);
    assertEquals(Source.STALE, value(group.get(REQ)).source());
    origin.onlyRevalidation().future().completeExceptionally(new IllegalStateException("refused"));
    assertEquals(Source.STALE, value(group.get(REQ)).source());
    assertEquals(2, origin.revalidations.size());
    assertSame(old, main.peek(KEY));
  }

  @Test
  void rfc5861_3_staleWhileRevalidateOnAHotCopyRefreshesThroughTheOwner() throws Exception {
    FakePeer owner = new FakePeer("http://10.0.0.2:9000");
    Group group = group(key -> owner);
    CachedResponse old = response(200, "image/png", "old", "Cache-Control", "max-age=60, stale-while-revalidate=30");
    hot.put(KEY, old);
    clock.advanceSeconds(70);
    assertEquals(new Result(Source.STALE, old, KEY), value(group.get(REQ)));
    assertEquals(1, owner.fetched.size());
    assertTrue(origin.calls.isEmpty() && origin.revalidations.isEmpty());
    CachedResponse fresh = response(200, "image/png", "new", "Cache-Control", "max-age=60");
    owner.futures.get(0).complete(fresh);
    assertSame(fresh, hot.peek(KEY));
  }

  /** How the origin fails a revalidation: no answer at all, or a 5xx. */
  @ParameterizedTest(name = "[{index}] origin {0}")
  @ValueSource(strings = {"refuses", "500", "503"})
  void rfc5861_4_staleIfErrorServesStaleWhenTheOriginFailsOrAnswers5xx(String failure) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse old = response(200, "image/png", "old", "Cache-Control", "max-age=60, stale-if-error=300",
        "ETag", "\"v1\"");
    stored(group, old);
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    failRevalidation(failure);
    assertEquals(new Result(Source.STALE, old, KEY), value(f));
    assertSame(old, main.peek(KEY));

    clock.advanceSeconds(300); // 300 s past its lifetime: beyond the window
    CompletableFuture<Result> g = group.get(REQ);
    failRevalidation(failure);
    if (failure.equals("refuses")) {
      assertInstanceOf(IllegalStateException.class, failureOf(g));
    } else {
      assertEquals(Integer.parseInt(failure), value(g).response().status(), "the 5xx passed on as sent");
    }
  }

  private void failRevalidation(String failure) {
    CompletableFuture<OriginLoader.Revalidation> pending = origin.revalidations.get(origin.revalidations.size() - 1)
        .future();
    if (failure.equals("refuses")) {
      pending.completeExceptionally(new IllegalStateException("connection refused"));
    } else {
      pending.complete(new OriginLoader.Revalidation(response(Integer.parseInt(failure), "text/plain", "down"), false));
    }
  }

  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @ValueSource(strings = {"max-age=60, must-revalidate", "s-maxage=60", "max-age=60, proxy-revalidate"})
  void rfc9111_4_2_4_mustRevalidateAndSMaxageForbidStaleWhenTheOriginFails(String cacheControl) throws Exception {
    CachePolicy lenient = CachePolicy.builder().clock(clock)
        .staleDefaults(Duration.ofSeconds(600), Duration.ofSeconds(600)).build();
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(lenient, 200, "image/png", "old", "Cache-Control", cacheControl, "ETag", "\"v1\""));
    clock.advanceSeconds(61);
    CompletableFuture<Result> f = group.get(REQ);
    assertFalse(f.isDone(), "not answered stale while revalidating");
    origin.onlyRevalidation().future().completeExceptionally(new IllegalStateException("connection refused"));
    assertInstanceOf(IllegalStateException.class, failureOf(f), "the client gets 502/504, never the stale copy");
  }

  @Test
  void implicitFreshnessOff_storedOnlyWithAValidatorAndRevalidatedBeforeEachReuse() throws Exception {
    CachePolicy strict = CachePolicy.builder().clock(clock).implicitFreshness(false).build();
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse tagged = response(strict, 200, "image/png", "png", "ETag", "\"v1\"");
    stored(group, tagged);

    CompletableFuture<Result> f = group.get(REQ);
    long now = clock.now();
    origin.onlyRevalidation().future().complete(
        new OriginLoader.Revalidation(strict.refreshed(tagged, List.of("ETag", "\"v1\""), now, now), true));
    assertEquals(Source.REVALIDATED, value(f).source());
    group.get(REQ);
    assertEquals(2, origin.revalidations.size(), "again: it is never fresh");

    Request other = request("/other");
    CompletableFuture<Result> g = group.get(other);
    origin.last().future().complete(response(strict, 200, "image/png", "untagged"));
    assertEquals(Source.MISS, value(g).source());
    assertNull(main.peek("/other"), "no validator: not stored");
  }

  // --- request directives (RFC 9111 §5.2.1) ---

  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @ValueSource(strings = {"no-cache", "max-age=0"})
  void rfc9111_5_2_1_requestNoCacheOrMaxAgeZeroRevalidatesAFreshResponse(String cacheControl) throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse fresh = response(200, "image/png", "png", "Cache-Control", "max-age=3600", "ETag", "\"v1\"");
    stored(group, fresh);
    clock.advanceSeconds(1);
    CompletableFuture<Result> f = group.get(withCacheControl(KEY, cacheControl));
    assertSame(fresh, origin.onlyRevalidation().stored());
    long now = clock.now();
    origin.onlyRevalidation().future().complete(
        new OriginLoader.Revalidation(policy.refreshed(fresh, List.of("ETag", "\"v1\""), now, now), true));
    assertEquals(Source.REVALIDATED, value(f).source());
    assertEquals(Source.HIT, value(group.get(REQ)).source(), "other requests are not affected");
  }

  @Test
  void rfc9111_5_2_1_1_requestMaxAgeN() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(200, "image/png", "png", "Cache-Control", "max-age=3600", "ETag", "\"v1\""));
    clock.advanceSeconds(100);
    assertEquals(Source.HIT, value(group.get(withCacheControl(KEY, "max-age=100"))).source());
    group.get(withCacheControl(KEY, "max-age=99"));
    assertEquals(1, origin.revalidations.size());
  }

  @Test
  void rfc9111_5_2_1_3_requestMinFresh() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, response(200, "image/png", "png", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
    clock.advanceSeconds(30);
    assertEquals(Source.HIT, value(group.get(withCacheControl(KEY, "min-fresh=30"))).source());
    group.get(withCacheControl(KEY, "min-fresh=31"));
    assertEquals(1, origin.revalidations.size());
  }

  @Test
  void rfc9111_5_2_1_2_requestMaxStale() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CachedResponse old = response(200, "image/png", "png", "Cache-Control", "max-age=60", "ETag", "\"v1\"");
    stored(group, old);
    clock.advanceSeconds(90);
    assertEquals(new Result(Source.HIT, old, KEY), value(group.get(withCacheControl(KEY, "max-stale=30"))));
    assertTrue(origin.revalidations.isEmpty());
    group.get(withCacheControl(KEY, "max-stale=29"));
    assertEquals(1, origin.revalidations.size());
  }

  @Test
  void rfc9111_5_2_1_7_onlyIfCachedAnswersFromStorageOr504() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    assertInstanceOf(Group.NotCachedException.class, failureOf(group.get(withCacheControl(KEY, "only-if-cached"))));
    assertTrue(origin.calls.isEmpty(), "nothing stored: 504, no load");

    CachedResponse fresh = response(200, "image/png", "png", "Cache-Control", "max-age=60", "ETag", "\"v1\"");
    stored(group, fresh);
    assertEquals(new Result(Source.HIT, fresh, KEY), value(group.get(withCacheControl(KEY, "only-if-cached"))));
  }

  /**
   * Regression: a stale stored response and {@code only-if-cached} sent a revalidation to the
   * origin — the one thing the client asked the cache not to do (RFC 9111 §5.2.1.7).
   */
  @Test
  void rfc9111_5_2_1_7_onlyIfCachedNeverContactsTheOriginForAStaleResponse() {
    Group group = group(PeerPicker.SELF_ONLY);
    main.put(KEY, response(200, "image/png", "png", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
    clock.advanceSeconds(61);
    assertInstanceOf(Group.NotCachedException.class, failureOf(group.get(withCacheControl(KEY, "only-if-cached"))));
    assertTrue(origin.revalidations.isEmpty());
    assertTrue(origin.calls.isEmpty());
  }

  @Test
  void requestNoStoreIsLoadedForItsClientAloneAndNotStored() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> f = group.get(withCacheControl(KEY, "no-store"));
    CompletableFuture<Result> g = group.get(REQ);
    assertEquals(2, origin.calls.size(), "not coalesced");
    origin.calls.get(0).future().complete(png);
    assertEquals(new Result(Source.PASS, png), value(f));
    assertNull(main.peek(KEY));
    CachedResponse other = response(200, "image/png", "other");
    origin.calls.get(1).future().complete(other);
    assertSame(other, main.peek(KEY));
  }

  // --- Authorization (RFC 9111 §3.5) ---

  private static Request authorized(String key) {
    return new Request(key, List.of("X-Forwarded-For", CLIENT), CacheControl.NONE, true);
  }

  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @ValueSource(strings = {"max-age=60", "private, max-age=60"})
  void rfc9111_3_5_responseToAuthorizedRequestIsNotSharedWithoutPublicSMaxageOrMustRevalidate(String cacheControl)
      throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(authorized(KEY));
    CompletableFuture<Result> b = group.get(authorized(KEY));
    assertEquals(2, origin.calls.size(), "authorized requests are never coalesced");
    CachedResponse forA = response(200, "image/png", "a", "Cache-Control", cacheControl);
    origin.calls.get(0).future().complete(forA);
    origin.calls.get(1).future().complete(response(200, "image/png", "b", "Cache-Control", cacheControl));
    assertEquals(new Result(Source.PASS, forA), value(a));
    assertEquals(Source.PASS, value(b).source());
    assertNull(main.peek(KEY));
  }

  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @ValueSource(strings = {"public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate"})
  void rfc9111_3_5_responseToAuthorizedRequestIsSharedWithPublicSMaxageOrMustRevalidate(String cacheControl)
      throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    CompletableFuture<Result> a = group.get(authorized(KEY));
    CachedResponse shared = response(200, "image/png", "a", "Cache-Control", cacheControl);
    origin.only().future().complete(shared);
    assertEquals(new Result(Source.PASS, shared, KEY), value(a));
    assertSame(shared, main.peek(KEY));
    assertEquals(new Result(Source.HIT, shared, KEY), value(group.get(REQ)));
    assertEquals(new Result(Source.HIT, shared, KEY), value(group.get(authorized(KEY))));
    assertEquals(1, origin.calls.size());
  }

  @Test
  void rfc9111_3_5_storedResponseDoesNotAnswerAnAuthorizedRequestUnlessItAllows() throws Exception {
    Group group = group(PeerPicker.SELF_ONLY);
    stored(group, png);
    CompletableFuture<Result> f = group.get(authorized(KEY));
    assertEquals(2, origin.calls.size(), "the stored copy was not made for an authorized request");
    CachedResponse own = response(200, "image/png", "own");
    origin.last().future().complete(own);
    assertEquals(new Result(Source.PASS, own), value(f));
    assertSame(png, main.peek(KEY), "and the authorized answer replaced nothing");
  }
}
