package io.imgcache.group;

import static com.google.common.base.Preconditions.checkArgument;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.imgcache.cache.CacheControl;
import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.Variants;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One named group: answers gets from the main cache, the hot cache, the key's owner or this node's
 * origin, with one load per key in flight (DESIGN §1), as an RFC 9111 shared cache (DESIGN §4).
 * Thread-safe; no method blocks, so all of them may be called on an IO thread.
 *
 * <p>Only the owner stores a key in the main cache. Answers fetched from the owner are offered to
 * the hot cache; answers loaded because the owner failed (fallback) are stored nowhere. A response
 * that is not {@linkplain CachedResponse#shareable() shareable} reaches only the client it was
 * loaded for: a coalesced waiter loads its own, and the key is sent straight to the origin for a
 * while (Varnish's hit-for-miss), so that requests do not queue behind each other's loads.
 */
public final class Group {
  private static final Duration UNSHAREABLE_MEMORY = Duration.ofSeconds(30);

  private final String name;
  private final ResponseCache main;
  private final ResponseCache hot;
  private final Variants variants;
  private final PeerPicker peers;
  private final OriginLoader origin;
  private final CachePolicy policy;
  private final Duration deadline;
  private final Events events;
  private final Bans bans;
  private final DiskTier disk;
  // Two flight maps, so that a peer's request (answered as owner) never joins this node's own
  // fetch of the key from another node — possible when rings disagree mid-change. Joining it would
  // forward the peer's request (a second hop), and two nodes that each think the other owns a key
  // would wait on each other until the peer timeout.
  private final Flights<Result> ownerLoads = new Flights<>(); // loads and revalidations as owner
  private final Flights<Result> ownerFetches = new Flights<>(); // fetches from the key's owner
  /** Base keys whose latest response was not shareable: loaded per request for a while. */
  private final Cache<String, Boolean> unshareable = Caffeine.newBuilder()
      .maximumSize(100_000)
      .expireAfterWrite(UNSHAREABLE_MEMORY)
      .executor(Runnable::run)
      .build();

  /** Ids of the bans applied lately, so that one delivered twice applies once. */
  private final Cache<String, Boolean> bansApplied = Caffeine.newBuilder()
      .maximumSize(10_000)
      .expireAfterWrite(Duration.ofHours(2))
      .executor(Runnable::run)
      .build();

  /**
   * @param deadline how long one caller waits for a load before it gets a {@code
   *     TimeoutException}; the load itself goes on for the other callers
   * @param events told what happened, for metrics and the health monitor
   */
  public Group(String name, ResponseCache main, ResponseCache hot, Variants variants, PeerPicker peers,
      OriginLoader origin, CachePolicy policy, Duration deadline, Events events) {
    this(name, main, hot, variants, peers, origin, policy, deadline, events, DiskTier.NONE);
  }

  /**
   * @param disk the tier under the main cache: read on an owner's memory miss, written with what the
   *     owner stores in its main cache
   */
  public Group(String name, ResponseCache main, ResponseCache hot, Variants variants, PeerPicker peers,
      OriginLoader origin, CachePolicy policy, Duration deadline, Events events, DiskTier disk) {
    checkArgument(!deadline.isNegative() && !deadline.isZero(), "deadline must be positive, was %s", deadline);
    this.name = name;
    this.main = main;
    this.hot = hot;
    this.variants = variants;
    this.peers = peers;
    this.origin = origin;
    this.policy = policy;
    this.deadline = deadline;
    this.events = events;
    this.disk = disk;
    // A ban must outlive the loads that may have started before it: those end within the deadline.
    this.bans = new Bans(deadline.multipliedBy(2).toMillis());
  }

  /**
   * What a group tells its observers. Called on whatever thread the event happened on (often an
   * IO thread): implementations must be quick and must not block.
   */
  public interface Events {
    /** A caller joined a load already in flight. */
    default void coalesced() {}

    /** The owner at {@code peerUrl} gave no authoritative answer (unreachable, timed out, failed). */
    default void peerFailed(String peerUrl) {}

    /** A fetch from the owner at {@code peerUrl} begins; {@link #peerFetchEnded} follows exactly once. */
    default void peerFetchStarted(String peerUrl) {}

    /**
     * A fetch from {@code peerUrl} ended: {@code answered} if the owner gave an authoritative answer
     * (any status, or "too large"), else it failed ({@link #peerFailed} came first if the peer was at fault).
     */
    default void peerFetchEnded(String peerUrl, boolean answered) {}

    /** A key owned elsewhere was loaded from this node's origin because its owner failed. */
    default void fallback() {}

    /** This node's origin gave no usable answer and another member's origin was asked instead. */
    default void originFailover() {}

    /** A ban was applied here, removing {@code removed} stored copies. */
    default void banned(int removed) {}
  }

  public String name() {
    return name;
  }

  /**
   * The answer from memory when a stored response is fresh for the request (main cache, then hot
   * cache), or null: cheap, for the hit path. Anything else (stale, conditions, Authorization the
   * entry does not allow) is {@link #get}'s.
   */
  public Result lookup(String key, Variants.Headers headers, CacheControl request, boolean authorization) {
    String variant = variants.keyFor(key, headers);
    Source source = Source.HIT;
    CachedResponse cached = main.get(variant);
    if (cached == null) {
      cached = hot.get(variant);
      source = Source.HIT_HOT;
    }
    if (cached == null || bans.banned(variant, cached.requestTime()) || !freshFor(request, authorization, cached)) {
      return null;
    }
    return new Result(source, cached, variant);
  }

  /**
   * A client's get: a stored response the request may reuse, else a revalidation or a coalesced
   * load from the key's owner or, when this node owns the key, from the origin. A disk hit's
   * response may be lent: whoever writes it releases it ({@link CachedResponse#release}).
   */
  public CompletableFuture<Result> get(Request request) {
    return get(request, false);
  }

  /**
   * A peer's get: this node answers as the owner whatever its own ring says (one hop at most), from
   * memory or a coalesced origin load. When its own ring names another owner (the rings disagree: a
   * partition, a membership change in flight) the answer is kept in the hot cache only, so that no
   * main cache but the owner's ends up holding the key.
   */
  public CompletableFuture<Result> getAsOwner(Request request) {
    return get(request, true);
  }

  private CompletableFuture<Result> get(Request request, boolean asOwner) {
    String key = request.key();
    String variant = variants.keyFor(key, request);
    Source source = Source.HIT;
    CachedResponse stored = main.peek(variant);
    if (stored == null) {
      stored = hot.peek(variant);
      source = Source.HIT_HOT;
    }
    if (stored == null && disk.enabled() && (asOwner || peers.owns(key))) {
      // The owner's memory does not have it: its disk may (a restart, more keys than memory holds).
      return disk.read(variant).thenCompose(onDisk -> {
        if (onDisk == null || bans.banned(variant, onDisk.requestTime())) {
          if (onDisk != null) {
            onDisk.release();
          }
          return answer(request, asOwner, variant, null, Source.HIT_DISK);
        }
        if (onDisk.lent()) {
          if (freshFor(request.cacheControl(), request.authorization(), onDisk)) {
            return CompletableFuture.completedFuture(new Result(Source.HIT_DISK, onDisk, variant)); // its writer releases it
          }
          onDisk = onDisk.owned(); // to be revalidated: a copy of its own, which memory keeps too
        }
        // An owned body is the tier's hint that the key is read often (or was just checked):
        // back in memory, admission permitting. A large body stays mapped.
        main.put(variant, onDisk);
        return answer(request, asOwner, variant, onDisk, Source.HIT_DISK);
      });
    }
    if (stored != null && bans.banned(variant, stored.requestTime())) {
      stored = null; // the ban's walk has not reached it yet
    }
    return answer(request, asOwner, variant, stored, source);
  }

  /**
   * Whether {@code stored} answers a request with {@code directives} (and Authorization, if {@code
   * authorization}) as it is: what {@link #answer} serves as FRESH.
   */
  private boolean freshFor(CacheControl directives, boolean authorization, CachedResponse stored) {
    return (!authorization || stored.authorizedReuse())
        && stored.reuse(directives, policy.now()) == CachedResponse.Reuse.FRESH;
  }

  /** Answers from {@code stored} (from {@code source}; may be null) when the request may reuse it, else loads. */
  private CompletableFuture<Result> answer(Request request, boolean asOwner, String variant, CachedResponse stored,
      Source source) {
    String key = request.key();
    long now = policy.now();
    if (stored != null && (!request.authorization() || stored.authorizedReuse())) {
      switch (stored.reuse(request.cacheControl(), now)) {
        case FRESH -> {
          return CompletableFuture.completedFuture(new Result(source, stored, variant));
        }
        case STALE_WHILE_REVALIDATE -> {
          refreshBehind(request, variant, stored, source, asOwner);
          return CompletableFuture.completedFuture(new Result(Source.STALE, stored, variant));
        }
        case REVALIDATE -> {
          // only-if-cached: the client asked us not to contact the origin (RFC 9111 §5.2.1.7).
          if ((source != Source.HIT_HOT || asOwner) && !request.cacheControl().onlyIfCached()) {
            return revalidate(request, variant, stored);
          }
          // A hot copy is revalidated by asking its owner, which revalidates its own.
        }
      }
    }
    if (request.cacheControl().onlyIfCached()) {
      return CompletableFuture.failedFuture(new NotCachedException("only-if-cached and no stored response"));
    }
    if (request.authorization() || request.cacheControl().noStore() || unshareable.getIfPresent(key) != null) {
      return loadPrivately(request);
    }
    PeerPicker.Peer owner = asOwner ? null : peers.ownerOf(key);
    return owner == null ? loadAsOwner(request, false) : fetchFromOwner(request, owner, false);
  }

  /** What this node holds for {@code request} in memory (main, then hot), counting no hit; or null. */
  public CachedResponse peek(Request request) {
    String variant = variants.keyFor(request.key(), request);
    CachedResponse cached = main.peek(variant);
    if (cached == null) {
      cached = hot.peek(variant);
    }
    return cached == null || bans.banned(variant, cached.requestTime()) ? null : cached;
  }

  /**
   * What this node holds for {@code request} — memory (main, then hot), else its disk tier —
   * counting no memory hit; null when nothing. For a previous owner answering warm-up requests.
   * May complete on the caller's thread or off it, and be lent (see {@link DiskTier#read}).
   */
  public CompletableFuture<CachedResponse> cached(Request request) {
    CachedResponse inMemory = peek(request);
    if (inMemory != null || !disk.enabled()) {
      return CompletableFuture.completedFuture(inMemory);
    }
    String variant = variants.keyFor(request.key(), request);
    return disk.read(variant).thenApply(onDisk -> {
      if (onDisk != null && bans.banned(variant, onDisk.requestTime())) {
        onDisk.release();
        return null;
      }
      return onDisk; // perhaps lent: its writer releases it
    });
  }

  /**
   * Bans every key starting with {@code prefix} — all variants, main and hot copies — on this
   * node: what is stored goes, and a load in flight now stores nothing (its waiters still get its
   * answer). Effective at once for lookups; walks both caches to free the copies, so call it off
   * the IO threads. A ban whose {@code id} was applied already (the last two hours) does nothing.
   * Returns how many copies were removed.
   */
  public int ban(String id, String prefix) {
    if (bansApplied.asMap().putIfAbsent(id, Boolean.TRUE) != null) {
      return 0; // delivered again (a retry whose first answer was lost): applied already
    }
    long now = policy.now();
    bans.expire(now);
    bans.add(prefix, now);
    int[] removed = {disk.ban(prefix)};
    for (ResponseCache cache : new ResponseCache[] {main, hot}) {
      cache.forEachKey(key -> {
        if (key.startsWith(prefix) && cache.invalidate(key)) {
          removed[0]++;
        }
      });
    }
    events.banned(removed[0]);
    return removed[0];
  }

  /**
   * Moves every main-cache entry this node no longer owns into the hot cache (where admission
   * decides whether it stays), so that only owners keep keys in a main cache after the ring
   * changed, while the new owners can still warm up from the copies. Walks the whole main cache:
   * call it off the IO threads. Returns how many entries moved.
   */
  public int demoteNotOwned(Predicate<String> owned) {
    int[] moved = {0};
    main.forEachKey(key -> {
      if (!owned.test(Variants.base(key))) {
        CachedResponse response = main.peek(key);
        if (response == null) {
          return;
        }
        // Into the hot cache first: the new owner asks for the key (warm-up) at this very moment,
        // and a copy taken out of main before it is in hot was a miss, loaded from the origin again.
        if (response.status() == 200) {
          hot.put(key, response);
        }
        if (main.invalidate(key)) {
          moved[0]++;
        }
      }
    });
    return moved[0];
  }

  /** Whether this node's main and hot caches hold {@code key} (any variant), counting no hit. */
  public record Holding(boolean main, boolean hot) {}

  public Holding holding(String key) {
    boolean inMain = main.peek(key) != null;
    boolean inHot = hot.peek(key) != null;
    return new Holding(inMain, inHot);
  }

  /** Removes {@code key} and all its variants from this node's main and hot caches; returns the copies removed. */
  public int purge(String key) {
    disk.invalidate(key); // and its variants; behind the answer
    int removed = (main.invalidate(key) ? 1 : 0) + (hot.invalidate(key) ? 1 : 0);
    for (String variant : variants.forget(key)) {
      removed += (main.invalidate(variant) ? 1 : 0) + (hot.invalidate(variant) ? 1 : 0);
    }
    unshareable.invalidate(key);
    return removed;
  }

  private CompletableFuture<Result> loadAsOwner(Request request, boolean retried) {
    String key = request.key();
    String flight = variants.keyFor(key, request);
    return settle(ownerLoads.join(flight, () -> {
      // A flight that finished between our cache miss and this join has stored its answer in
      // the main cache and left the map: look again before loading a second time.
      CachedResponse stored = main.peek(flight);
      if (stored != null && !bans.banned(flight, stored.requestTime()) && stored.reuse(request.cacheControl(), policy.now()) == CachedResponse.Reuse.FRESH) {
        return CompletableFuture.completedFuture(new Result(Source.HIT, stored, flight));
      }
      PeerPicker.Peer previous = peers.previousOwnerOf(key);
      CompletableFuture<CachedResponse> loaded = previous == null
          ? loadFromOrigin(request)
          // The ring changed lately: the previous owner likely holds the key. Take its copy
          // rather than resize again; if it has none (or is slow), load as usual.
          : previous.fetchCached(request).exceptionallyCompose(ignored -> loadFromOrigin(request));
      return loaded.thenApply(response -> new Result(Source.MISS, response, store(request, response, true)));
    }), request, retried, false);
  }

  private CompletableFuture<Result> fetchFromOwner(Request request, PeerPicker.Peer owner, boolean retried) {
    String flight = variants.keyFor(request.key(), request);
    return settle(ownerFetches.join(flight, () -> fetchReported(owner, request)
        .thenApply(response -> new Result(Source.PEER, response, store(request, response, false)))
        .exceptionallyCompose(failure -> {
          if (Failures.cause(failure) instanceof ObjectTooLargeException) {
            // The owner is fine; the object is just not cacheable anywhere.
            return CompletableFuture.failedFuture(failure);
          }
          events.fallback();
          // Not stored in the main cache: this node does not own the key (the Go deployment's flaw).
          return loadFromOrigin(request).thenApply(response -> new Result(Source.FALLBACK, response));
        })), request, retried, true);
  }

  /** {@code owner.fetch(request)}, its start and end told to {@link #events} (the health monitor's view). */
  private CompletableFuture<CachedResponse> fetchReported(PeerPicker.Peer owner, Request request) {
    events.peerFetchStarted(owner.url());
    return owner.fetch(request).whenComplete((response, failure) -> {
      boolean answered = failure == null || Failures.cause(failure) instanceof ObjectTooLargeException;
      if (!answered && (!(Failures.cause(failure) instanceof PeerException e) || e.peerAtFault())) {
        events.peerFailed(owner.url());
      }
      events.peerFetchEnded(owner.url(), answered);
    });
  }

  /** Revalidates the stored {@code stale} copy with the origin (as owner), coalesced with loads. */
  private CompletableFuture<Result> revalidate(Request request, String variant, CachedResponse stale) {
    return settle(ownerLoads.join(variant, () -> {
      CompletableFuture<OriginLoader.Revalidation> answer = stale.hasValidator()
          ? origin.revalidate(request, stale)
          : origin.load(request).thenApply(r -> new OriginLoader.Revalidation(r, false));
      return answer.handle((revalidation, failure) -> {
        long now = policy.now();
        boolean failed = failure != null || isFailure(revalidation.response());
        if (failed && stale.staleIfError(now)) {
          return new Result(Source.STALE, stale, variant); // RFC 5861 §4
        }
        if (failure != null) {
          throw Failures.propagate(failure);
        }
        CachedResponse response = revalidation.response();
        if (!response.storable() && !isFailure(response)) {
          // The origin replaced it with something a cache may not keep: the old copy must not answer again.
          main.invalidate(variant);
          hot.invalidate(variant);
        }
        return new Result(revalidation.notModified() ? Source.REVALIDATED : Source.MISS, response,
            store(request, response, true));
      });
    }), request, false, false);
  }

  /** Refreshes a stale copy behind the answer already given (stale-while-revalidate). */
  private void refreshBehind(Request request, String variant, CachedResponse stale, Source source, boolean asOwner) {
    PeerPicker.Peer owner = source != Source.HIT_HOT || asOwner ? null : peers.ownerOf(request.key());
    CompletableFuture<Result> refresh = owner == null
        ? revalidate(request, variant, stale)
        : fetchFromOwner(request, owner, true);
    refresh.exceptionally(failure -> null); // the stale answer stands; the next request tries again
  }

  /** A load for this request's client alone: never coalesced, never shared; stored only if RFC 9111 §3.5 allows. */
  private CompletableFuture<Result> loadPrivately(Request request) {
    return loadFromOrigin(request).thenApply(response -> {
      String variant = null;
      if (response.storable() && (!request.authorization() || response.authorizedReuse())
          && !request.cacheControl().noStore()) {
        variant = store(request, response, true);
      }
      return new Result(Source.PASS, response, variant);
    }).orTimeout(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Stores a loaded response where it belongs — the main cache as owner, else a 200 in the hot
   * cache — and returns the variant key it answers {@code request} under. Not shareable: remembered,
   * so the next requests load per client.
   */
  private String store(Request request, CachedResponse response, boolean loadedAsOwner) {
    String key = request.key();
    String variant = variants.keyFor(key, response, request);
    if (!response.shareable()) {
      unshareable.put(key, Boolean.TRUE);
      return variant;
    }
    if (!response.storable() || bans.banned(variant, response.requestTime())) {
      return variant; // a load that began before a ban stores nothing
    }
    unshareable.invalidate(key);
    if (!response.varies()) {
      for (String old : variants.forget(key)) { // the response stopped varying: old variants are unreachable
        main.invalidate(old);
        hot.invalidate(old);
      }
    }
    variants.record(key, response, request);
    if (loadedAsOwner && peers.owns(key)) {
      main.put(variant, response);
      disk.write(variant, response); // only the owner's main copies go to disk
    } else if (response.status() == 200) {
      hot.put(variant, response); // from the owner, or a peer's request for a key our ring places elsewhere
    }
    return variant;
  }

  /**
   * What one caller gets from a flight. The caller that started it gets its result as it is. A
   * waiter gets it only if the response is shareable and is the variant the waiter's own headers
   * select; otherwise it asks again — once through a flight of its own variant (the index now knows
   * the Vary names), and then for itself alone — and never sees another client's private answer.
   */
  private CompletableFuture<Result> settle(Flights.Joined<Result> joined, Request request, boolean retried,
      boolean fromOwner) {
    CompletableFuture<Result> result = joined.result();
    if (joined.coalesced()) {
      events.coalesced();
      result = result.thenCompose(r -> {
        CachedResponse response = r.response();
        if (!response.shareable()) {
          return loadPrivately(request);
        }
        if (r.variantKey() != null && response.varies()
            && !variants.keyFor(request.key(), response, request).equals(r.variantKey())) {
          if (retried) {
            return loadPrivately(request);
          }
          PeerPicker.Peer owner = fromOwner ? peers.ownerOf(request.key()) : null;
          return owner == null ? loadAsOwner(request, true) : fetchFromOwner(request, owner, true);
        }
        return CompletableFuture.completedFuture(r);
      });
    }
    return result.orTimeout(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * A peer's request to load for it ({@code X-Groupcache-Load-For}): straight from this node's
   * origin, stored nowhere, never passed on — one hop, whatever happens.
   */
  public CompletableFuture<Result> loadFor(Request request) {
    return origin.load(request).thenApply(response -> new Result(Source.MISS, response))
        .orTimeout(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * A load from this node's origin that, when the origin gives no usable answer (refused, reset,
   * timed out, or a 5xx failure), asks another member to load it from its own origin instead
   * (DESIGN §1: every imgfit computes every image). The alternate's answer is authoritative; when
   * it has none either, the local outcome stands.
   */
  private CompletableFuture<CachedResponse> loadFromOrigin(Request request) {
    return origin.load(request).handle((response, failure) -> {
      boolean failed = failure != null
          ? Failures.cause(failure) instanceof OriginException e && e.status() != 503
          : isFailure(response);
      PeerPicker.Peer alternate = failed ? peers.alternateFor(request.key()) : null;
      if (alternate == null) {
        return failure != null ? CompletableFuture.<CachedResponse>failedFuture(Failures.cause(failure))
            : CompletableFuture.completedFuture(response);
      }
      events.originFailover();
      return alternate.loadFor(request).exceptionallyCompose(alternateFailure -> {
        if (Failures.cause(alternateFailure) instanceof ObjectTooLargeException tooLarge) {
          return CompletableFuture.failedFuture(tooLarge); // an answer after all, streaming in
        }
        return failure != null ? CompletableFuture.failedFuture(Failures.cause(failure))
            : CompletableFuture.completedFuture(response);
      });
    }).thenCompose(f -> f);
  }

  /** An answer revalidation treats as the origin failing: a 5xx (501 is an answer like 404). */
  private static boolean isFailure(CachedResponse response) {
    return response.status() >= 500 && response.status() != 501;
  }

  /** Only-if-cached (RFC 9111 §5.2.1.7) and nothing usable is stored: the client gets 504. */
  public static final class NotCachedException extends RuntimeException {
    NotCachedException(String message) {
      super(message, null, false, false);
    }
  }
}
