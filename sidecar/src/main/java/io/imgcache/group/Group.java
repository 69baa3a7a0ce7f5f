package io.imgcache.group;

import static com.google.common.base.Preconditions.checkArgument;

import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.ResponseCache;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One named group: answers gets from the main cache, the hot cache, the key's owner or this node's
 * origin, with one load per key in flight (DESIGN §1). Thread-safe; no method blocks, so all of
 * them may be called on an IO thread.
 *
 * <p>Only the owner stores a key in the main cache. Answers fetched from the owner are offered to
 * the hot cache; answers loaded because the owner failed (fallback) are stored nowhere.
 */
public final class Group {
  private final String name;
  private final ResponseCache main;
  private final ResponseCache hot;
  private final PeerPicker peers;
  private final OriginLoader origin;
  private final Duration deadline;
  private final Events events;
  // Two flight maps, so that a peer's request (answered as owner) never joins this node's own
  // fetch of the key from another node — possible when rings disagree mid-change. Joining it would
  // forward the peer's request (a second hop), and two nodes that each think the other owns a key
  // would wait on each other until the peer timeout.
  private final Flights<Result> ownerLoads = new Flights<>(); // loads from this node's origin as owner
  private final Flights<Result> ownerFetches = new Flights<>(); // fetches from the key's owner

  /**
   * @param deadline how long one caller waits for a load before it gets a {@code
   *     TimeoutException}; the load itself goes on for the other callers
   * @param events told what happened, for metrics and the health monitor
   */
  public Group(String name, ResponseCache main, ResponseCache hot, PeerPicker peers, OriginLoader origin,
      Duration deadline, Events events) {
    checkArgument(!deadline.isNegative() && !deadline.isZero(), "deadline must be positive, was %s", deadline);
    this.name = name;
    this.main = main;
    this.hot = hot;
    this.peers = peers;
    this.origin = origin;
    this.deadline = deadline;
    this.events = events;
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

    /** A key owned elsewhere was loaded from this node's origin because its owner failed. */
    default void fallback() {}
  }

  public String name() {
    return name;
  }

  /** The answer from memory (main cache, then hot cache), or null: cheap, for the hit path. */
  public Result lookup(String key) {
    CachedResponse cached = main.get(key);
    if (cached != null) {
      return new Result(Source.HIT, cached);
    }
    cached = hot.get(key);
    return cached == null ? null : new Result(Source.HIT_HOT, cached);
  }

  /**
   * A client's get: {@link #lookup}, else a coalesced load from the key's owner or, when this node
   * owns the key, from the origin with {@code target} (the client's own request target).
   */
  public CompletableFuture<Result> get(String key, String target, String clientAddress) {
    Result cached = lookup(key);
    return cached != null ? CompletableFuture.completedFuture(cached) : load(key, target, clientAddress);
  }

  /** The part of {@link #get} after {@link #lookup} missed. */
  public CompletableFuture<Result> load(String key, String target, String clientAddress) {
    PeerPicker.Peer owner = peers.ownerOf(key);
    return owner == null ? loadAsOwner(key, target, clientAddress) : fetchFromOwner(key, target, clientAddress, owner);
  }

  /**
   * A peer's get: this node answers as the owner whatever its own ring says (one hop at most),
   * from memory or a coalesced origin load of {@code key}. When its own ring names another owner
   * (the rings disagree: a partition, a membership change in flight) the answer is kept in the hot
   * cache only, so that no main cache but the owner's ends up holding the key.
   */
  public CompletableFuture<Result> getAsOwner(String key) {
    CachedResponse cached = main.get(key);
    if (cached != null) {
      return CompletableFuture.completedFuture(new Result(Source.HIT, cached));
    }
    cached = hot.peek(key);
    if (cached != null) {
      return CompletableFuture.completedFuture(new Result(Source.HIT_HOT, cached));
    }
    return loadAsOwner(key, key, null);
  }

  /** What this node holds for {@code key} in memory (main, then hot), counting no hit; or null. */
  public CachedResponse peek(String key) {
    CachedResponse cached = main.peek(key);
    return cached != null ? cached : hot.peek(key);
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
      if (!owned.test(key)) {
        CachedResponse response = main.peek(key);
        if (response != null && main.invalidate(key)) {
          if (response.status() == 200) {
            hot.put(key, response);
          }
          moved[0]++;
        }
      }
    });
    return moved[0];
  }

  /** Whether this node's main and hot caches hold {@code key}, counting no hit. */
  public record Holding(boolean main, boolean hot) {}

  public Holding holding(String key) {
    return new Holding(main.peek(key) != null, hot.peek(key) != null);
  }

  /** Removes {@code key} from this node's main and hot caches; returns the copies removed. */
  public int purge(String key) {
    return (main.invalidate(key) ? 1 : 0) + (hot.invalidate(key) ? 1 : 0);
  }

  private CompletableFuture<Result> loadAsOwner(String key, String target, String clientAddress) {
    return waitFor(ownerLoads.join(key, () -> {
      // A flight that finished between our cache miss and this join has stored its answer in
      // the main cache and left the map: look again before loading a second time.
      CachedResponse stored = main.peek(key);
      if (stored != null) {
        return CompletableFuture.completedFuture(new Result(Source.HIT, stored));
      }
      PeerPicker.Peer previous = peers.previousOwnerOf(key);
      CompletableFuture<CachedResponse> loaded = previous == null
          ? origin.load(target, clientAddress)
          // The ring changed lately: the previous owner likely holds the key. Take its copy
          // rather than resize again; if it has none (or is slow), load as usual.
          : previous.fetchCached(key).exceptionallyCompose(ignored -> origin.load(target, clientAddress));
      return loaded.thenApply(response -> {
        if (response.storable()) {
          if (peers.owns(key)) {
            main.put(key, response);
          } else if (response.status() == 200) {
            hot.put(key, response); // a peer's request for a key our ring places elsewhere
          }
        }
        return new Result(Source.MISS, response);
      });
    }));
  }

  private CompletableFuture<Result> fetchFromOwner(String key, String target, String clientAddress,
      PeerPicker.Peer owner) {
    return waitFor(ownerFetches.join(key, () -> owner.fetch(key)
        .thenApply(response -> {
          if (response.storable() && response.status() == 200) {
            hot.put(key, response);
          }
          return new Result(Source.PEER, response);
        })
        .exceptionallyCompose(failure -> {
          if (Failures.cause(failure) instanceof ObjectTooLargeException) {
            // The owner is fine; the object is just not cacheable anywhere.
            return CompletableFuture.failedFuture(failure);
          }
          if (!(Failures.cause(failure) instanceof PeerException e) || e.peerAtFault()) {
            events.peerFailed(owner.url());
          }
          events.fallback();
          // Not stored in the main cache: this node does not own the key (the Go deployment's flaw).
          return origin.load(target, clientAddress).thenApply(response -> new Result(Source.FALLBACK, response));
        })));
  }

  private CompletableFuture<Result> waitFor(Flights.Joined<Result> joined) {
    if (joined.coalesced()) {
      events.coalesced();
    }
    return joined.result().orTimeout(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

}
