package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code membership = etcd} (DESIGN §7): registers {@code <prefix><self-url with '/' as '_'>} →
 * self-url under a kept-alive lease, and follows the prefix (list, then watch from the listed
 * revision + 1).
 *
 * <p>Threading: every state change runs on one private thread ({@code imgcache-etcd}); jetcd
 * callbacks only hand events to it, never block. Blocking etcd calls (with timeouts) run there
 * too. So the fields below are confined to that thread unless marked volatile.
 *
 * <p>Failures: a lost lease (keep-alive completed, NOT_FOUND, or our key deleted) is re-granted and
 * re-put with backoff, never while closing; the old lease is revoked after the put (etcd may still
 * hold it, e.g. renewed by an etcd restart, and our key is off it by then). A failed list or a
 * watch that ends or errs is followed by a new list and watch, with backoff. While etcd is
 * unreachable the last known members stay in force.
 *
 * <p>Reconnecting: a call that fails for want of a connection swaps the jetcd client for a fresh one
 * (at most every {@value #FRESH_CLIENT_MIN_AGE_MS} ms, see {@link ReconnectingClient} for why), and
 * the list, the watch and the lease are taken up again on it at once: the lease we held is resumed if
 * etcd still has it, so our key does not disappear when etcd comes back within the lease TTL. That
 * keeps the gap between connection attempts under 2 s however long etcd was away.
 */
public final class EtcdMembership implements Membership {
  private static final Logger log = LoggerFactory.getLogger(EtcdMembership.class);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(3);
  private static final long MIN_BACKOFF_MS = 200;
  private static final long MAX_BACKOFF_MS = 2_000;
  /**
   * The youngest client replaced after a failed call. Below the 3 s call timeout, so that while etcd
   * is away each client gets one call; a fresh channel's own retries (about 1 s and 2.6 s after its
   * first attempt) fill the time in between.
   */
  static final long FRESH_CLIENT_MIN_AGE_MS = 2_000;

  private final ReconnectingClient client;
  private final String selfUrl;
  private final ByteSequence prefix;
  private final ByteSequence selfKey;
  private final long leaseTtlSeconds;
  private final EtcdEvents events;
  private final ScheduledExecutorService thread;

  private volatile boolean closing;
  private volatile boolean ready;

  // Confined to the etcd thread.
  private Consumer<Set<String>> listener;
  private final Map<String, String> members = new HashMap<>(); // etcd key → URL
  private long leaseId;
  // A lease given up on (keep-alive ended) that etcd may still hold, e.g. one an etcd restart renewed:
  // revoked once our key has moved to the new lease, so revoking it deletes nothing.
  private long lostLeaseId;
  private CloseableClient keepAlive; // non-null exactly while registered
  private int keepAliveGeneration; // bumped when a keep-alive is dropped: its observer's late news is ignored
  private final List<Watch.Watcher> watchers = new ArrayList<>(2); // the members', and the bans' if followed
  private int watchGeneration;
  // Set before start (followBans), read on the etcd thread.
  private volatile ByteSequence bansPrefix; // null: bans not followed
  private volatile BiConsumer<String, String> bansListener;
  private long registerBackoff = MIN_BACKOFF_MS;
  private long syncBackoff = MIN_BACKOFF_MS;
  private ScheduledFuture<?> pendingRegister; // null unless a register() is scheduled
  private ScheduledFuture<?> pendingSync; // null unless a sync() is scheduled
  private ScheduledFuture<?> pendingPublish; // null unless a publish of watched changes is scheduled
  private Boolean reachable; // null until the first call

  /** What an etcd membership reports, for metrics. Called on the etcd thread. */
  public interface EtcdEvents {
    default void reachable(boolean up) {}

    default void leaseGranted() {}

    default void resynced() {}
  }

  /**
   * @param clients builds the jetcd clients this membership uses, owns and closes: the first at
   *     start, a fresh one after etcd could not be reached (see the class comment)
   * @param prefix e.g. {@code /imgcache2/nodes/}
   * @param nanoClock usually {@code System::nanoTime}; ages the jetcd client
   */
  public EtcdMembership(Supplier<Client> clients, String selfUrl, String prefix, Duration leaseTtl,
      LongSupplier nanoClock, EtcdEvents events) {
    this.client = new ReconnectingClient(clients, Duration.ofMillis(FRESH_CLIENT_MIN_AGE_MS), nanoClock);
    this.selfUrl = selfUrl;
    this.prefix = bytes(prefix);
    this.selfKey = bytes(prefix + selfUrl.replace('/', '_'));
    // etcd grants whole seconds. Rounded up, not down: start-up checked that a cut-off peer leaves
    // the ring within the configured TTL, and a shorter lease would break that (1.5 s → 1 s).
    this.leaseTtlSeconds = Math.max(1, (leaseTtl.toMillis() + 999) / 1000);
    this.events = events;
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "imgcache-etcd");
      t.setDaemon(true);
      return t;
    });
    executor.setRemoveOnCancelPolicy(true);
    this.thread = executor;
  }

  /** The key this node registers under. */
  public String selfKey() {
    return selfKey.toString(UTF_8);
  }

  @Override
  public void start(Consumer<Set<String>> listener) {
    thread.execute(() -> {
      this.listener = listener;
      // List first: a node others see must already know its peers (warm-up needs them).
      sync();
      register();
    });
  }

  @Override
  public boolean ready() {
    return ready;
  }

  // ---- registration --------------------------------------------------------------------------

  private void register() {
    pendingRegister = null;
    if (closing || keepAlive != null) {
      return; // shutting down, or registered already (a task scheduled before a reconnect did it)
    }
    try {
      if (resumeLostLease()) {
        return;
      }
      revokeQuietly();
      // With a gRPC deadline: a grant we gave up on must not wait for etcd and be granted later, a
      // lease nobody keeps or revokes (one per failed attempt showed up after an etcd outage).
      long granted = call(client.get().getLeaseClient().grant(leaseTtlSeconds, CALL_TIMEOUT.toMillis(),
          TimeUnit.MILLISECONDS)).getID();
      leaseId = granted;
      call(client.get().getKVClient().put(selfKey, bytes(selfUrl),
          PutOption.builder().withLeaseId(granted).build()));
      keepAlive = client.get().getLeaseClient().keepAlive(granted,
          new KeepAliveObserver(granted, keepAliveGeneration));
      events.leaseGranted();
      registerBackoff = MIN_BACKOFF_MS;
      reachable(true);
      log.info("registered {} in etcd under lease {} (ttl {}s)", selfKey(), Long.toHexString(granted),
          leaseTtlSeconds);
      revokeLostLease();
    } catch (Exception e) {
      if (!failed(e)) {
        scheduleRegister();
      }
    }
  }

  private void scheduleRegister() {
    if (closing || pendingRegister != null) {
      return;
    }
    long delay = registerBackoff;
    registerBackoff = Math.min(MAX_BACKOFF_MS, registerBackoff * 2);
    pendingRegister = thread.schedule(this::register, delay, TimeUnit.MILLISECONDS);
  }

  /** The lease is gone (expired, revoked from outside): register afresh. */
  private void leaseLost(long lost, String why) {
    if (closing || lost == 0 || lost != leaseId) {
      return; // an old lease's late news, a re-registration already under way, or shutting down
    }
    log.warn("etcd lease {} lost ({}); registering again", Long.toHexString(lost), why);
    dropRegistration();
    scheduleRegister();
  }

  /**
   * Gives up the keep-alive and remembers the lease as lost, to be resumed by the next {@link
   * #register} if etcd still holds it.
   */
  private void dropRegistration() {
    closeKeepAlive();
    if (leaseId != 0) {
      lostLeaseId = leaseId;
      leaseId = 0;
    }
  }

  /**
   * After an etcd outage the lease we gave up on is often still there (etcd renews every lease
   * when its leader changes): take it up again rather than grant a new one, so that our key never
   * disappears from under the peers when the abandoned lease would have expired.
   */
  private boolean resumeLostLease() throws Exception {
    if (lostLeaseId == 0) {
      return false;
    }
    long lost = lostLeaseId;
    if (call(client.get().getLeaseClient().timeToLive(lost, LeaseOption.DEFAULT)).getTTL() <= 0) {
      return false; // expired or revoked: grant a new one (revokeLostLease finds nothing to do)
    }
    call(client.get().getKVClient().put(selfKey, bytes(selfUrl), PutOption.builder().withLeaseId(lost).build()));
    // A lease granted by an attempt that failed after the grant: our key is off it now, so revoking
    // it deletes nothing, and nobody would keep it alive.
    long halfMade = leaseId;
    leaseId = lost;
    lostLeaseId = 0;
    if (halfMade != 0 && halfMade != lost) {
      revokeQuietly(halfMade);
    }
    keepAlive = client.get().getLeaseClient().keepAlive(lost,
        new KeepAliveObserver(lost, keepAliveGeneration));
    registerBackoff = MIN_BACKOFF_MS;
    reachable(true);
    log.info("re-registered {} in etcd under its previous lease {}", selfKey(), Long.toHexString(lost));
    return true;
  }

  private void revokeLostLease() {
    if (lostLeaseId != 0) {
      long lost = lostLeaseId;
      lostLeaseId = 0;
      revokeQuietly(lost);
    }
  }

  private void revokeQuietly() {
    closeKeepAlive();
    if (leaseId != 0) {
      long old = leaseId;
      leaseId = 0;
      revokeQuietly(old);
    }
  }

  private void revokeQuietly(long lease) {
    try {
      call(client.get().getLeaseClient().revoke(lease));
    } catch (Exception e) {
      // Already gone (expired, revoked from outside), or etcd is unreachable: it expires after its TTL.
    }
  }

  private void closeKeepAlive() {
    keepAliveGeneration++;
    if (keepAlive != null) {
      keepAlive.close();
      keepAlive = null;
    }
  }

  /** jetcd calls this on its event loop: hand everything to our thread. */
  private final class KeepAliveObserver implements StreamObserver<LeaseKeepAliveResponse> {
    private final long lease;
    private final int generation;

    KeepAliveObserver(long lease, int generation) {
      this.lease = lease;
      this.generation = generation;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
      if (response.getTTL() <= 0) {
        lost("keep-alive answered TTL " + response.getTTL());
      }
    }

    @Override
    public void onError(Throwable t) {
      // Transient stream errors are retried by jetcd itself; only a missing lease is final.
      if (t instanceof EtcdException e && e.getErrorCode() == ErrorCode.NOT_FOUND) {
        lost("not found");
      }
    }

    @Override
    public void onCompleted() {
      lost("keep-alive ended");
    }

    private void lost(String why) {
      // A dropped keep-alive's news comes late, e.g. from a replaced client after the same lease was
      // resumed on the fresh one: it must not take the resumed registration down.
      submit(() -> {
        if (generation == keepAliveGeneration) {
          leaseLost(lease, why);
        }
      });
    }
  }

  // ---- discovery -----------------------------------------------------------------------------

  /** Lists the prefix, publishes the members, and watches from the listed revision + 1. */
  private void sync() {
    pendingSync = null;
    if (closing) {
      return;
    }
    closeWatcher();
    try {
      GetResponse listed = call(client.get().getKVClient().get(prefix,
          GetOption.builder().isPrefix(true).build()));
      members.clear();
      for (KeyValue kv : listed.getKvs()) {
        members.put(kv.getKey().toString(UTF_8), kv.getValue().toString(UTF_8));
      }
      long revision = listed.getHeader().getRevision();
      int generation = ++watchGeneration;
      watch(prefix, revision, generation);
      if (bansPrefix != null) {
        GetResponse bans = call(client.get().getKVClient().get(bansPrefix, GetOption.builder().isPrefix(true).build()));
        bans.getKvs().forEach(this::banSeen);
        watch(bansPrefix, bans.getHeader().getRevision(), generation);
      }
      syncBackoff = MIN_BACKOFF_MS;
      reachable(true);
      events.resynced();
      publish();
      if (!members.containsKey(selfKey()) && keepAlive != null) {
        // Listed without our own key although we are registered: it was deleted behind our back.
        leaseLost(leaseId, "own key missing from the listing");
      }
    } catch (Exception e) {
      if (!failed(e)) {
        scheduleSync();
      }
    }
  }

  private void watch(ByteSequence watched, long listedRevision, int generation) {
    watchers.add(client.get().getWatchClient().watch(watched,
        WatchOption.builder().isPrefix(true).withRevision(listedRevision + 1).build(),
        Watch.listener(
            response -> submit(() -> apply(generation, response)),
            error -> submit(() -> watchEnded(generation, error)),
            () -> submit(() -> watchEnded(generation, null)))));
  }

  private void scheduleSync() {
    if (closing || pendingSync != null) {
      return;
    }
    long delay = syncBackoff;
    syncBackoff = Math.min(MAX_BACKOFF_MS, syncBackoff * 2);
    pendingSync = thread.schedule(this::sync, delay, TimeUnit.MILLISECONDS);
  }

  // ---- reconnecting --------------------------------------------------------------------------

  /**
   * Handles a failed call: etcd is unreachable, and if the call failed for want of a connection and
   * the client is old enough, reconnects.
   *
   * @return whether it reconnected (a list and a registration are then already scheduled)
   */
  private boolean failed(Exception e) {
    reachable(false, e);
    if (closing || !ReconnectingClient.isConnectivityFailure(e) || !client.dueForReplacement()) {
      return false;
    }
    reconnect();
    return true;
  }

  /**
   * Drops the watch and the keep-alive, swaps the client for a fresh one, and lists, watches and
   * registers again on it at once (no backoff: the fresh channel's first attempt is the point).
   */
  private void reconnect() {
    log.debug("etcd unreachable: replacing the etcd client (replacement {} in this outage)",
        client.replacements() + 1);
    closeWatcher();
    // The keep-alive dies with the old client; the next register() resumes the lease if etcd has it.
    dropRegistration();
    cancel(pendingSync);
    cancel(pendingRegister);
    pendingSync = null;
    pendingRegister = null;
    client.replace();
    // Listing first, as at start; both on this thread, in this order.
    pendingSync = thread.schedule(this::sync, 0, TimeUnit.MILLISECONDS);
    pendingRegister = thread.schedule(this::register, 0, TimeUnit.MILLISECONDS);
  }

  private static void cancel(ScheduledFuture<?> task) {
    if (task != null) {
      task.cancel(false);
    }
  }

  private void apply(int generation, WatchResponse response) {
    if (generation != watchGeneration || closing) {
      return;
    }
    boolean ownKeyDeleted = false;
    for (WatchEvent event : response.getEvents()) {
      String key = event.getKeyValue().getKey().toString(UTF_8);
      if (bansPrefix != null && event.getKeyValue().getKey().startsWith(bansPrefix)) {
        if (event.getEventType() == WatchEvent.EventType.PUT) {
          banSeen(event.getKeyValue());
        }
        continue; // a ban's expiry (DELETE) changes nothing
      }
      if (event.getEventType() == WatchEvent.EventType.PUT) {
        members.put(key, event.getKeyValue().getValue().toString(UTF_8));
      } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
        members.remove(key);
        ownKeyDeleted |= key.equals(selfKey());
      }
    }
    publishSoon();
    if (ownKeyDeleted) {
      leaseLost(leaseId, "own key deleted");
    }
  }

  private void watchEnded(int generation, Throwable error) {
    if (generation != watchGeneration || closing) {
      return;
    }
    // Compaction, a halted stream, or a completed watch: list again and watch anew.
    log.info("etcd watch ended ({}); listing again", error == null ? "completed" : error.toString());
    closeWatcher();
    scheduleSync();
  }

  private void closeWatcher() {
    watchGeneration++;
    watchers.forEach(Watch.Watcher::close);
    watchers.clear();
  }

  // ---- bans ----------------------------------------------------------------------------------

  /**
   * Follows the bans stored under {@code prefix} (listed with the members, then watched): {@code
   * listener} gets (id, key prefix) for each, on the etcd thread — at least once per ban, again
   * after a re-list; it must not block. Call before {@link #start}.
   */
  @Override
  public void followBans(String prefix, BiConsumer<String, String> listener) {
    this.bansListener = listener;
    this.bansPrefix = bytes(prefix);
  }

  /**
   * Stores a ban under the bans prefix, on a lease of {@code lifetime} that nobody keeps alive: every
   * member applies it through its watch, those away now when they list again, until it expires.
   * Returns at once; failures are logged (the ban was sent to the members directly as well).
   */
  @Override
  public void publishBan(String id, String keyPrefix, Duration lifetime) {
    ByteSequence where = bansPrefix;
    if (where == null) {
      return;
    }
    submit(() -> {
      try {
        long ttl = Math.max(1, lifetime.toSeconds());
        long lease = call(client.get().getLeaseClient().grant(ttl, CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
            .getID();
        call(client.get().getKVClient().put(where.concat(bytes(id)), bytes(keyPrefix),
            PutOption.builder().withLeaseId(lease).build()));
      } catch (Exception e) {
        log.warn("could not store ban {} of {} in etcd: {}", id, keyPrefix, e.toString());
        failed(e);
      }
    });
  }

  private void banSeen(KeyValue kv) {
    String id = kv.getKey().substring(bansPrefix.size()).toString(UTF_8);
    bansListener.accept(id, kv.getValue().toString(UTF_8));
  }

  /**
   * How long watched changes gather before the members are published again. A cold start or a
   * rolling restart of a large fleet is one event per member for every member, and each publish
   * builds a ring and tells the health monitor: at most one publish per window (a change is seen
   * at most this much later); a listing publishes at once.
   */
  static final long PUBLISH_WINDOW_MS = 100;

  private void publishSoon() {
    if (pendingPublish == null) {
      pendingPublish = thread.schedule(() -> {
        pendingPublish = null;
        if (!closing) {
          publish();
        }
      }, PUBLISH_WINDOW_MS, TimeUnit.MILLISECONDS);
    }
  }

  private void publish() {
    cancel(pendingPublish); // what it would publish is published now
    pendingPublish = null;
    // Unordered: the ring sorts its points itself; a tree set cost N log N per publish.
    Set<String> urls = new HashSet<>(members.size() * 2);
    for (String url : members.values()) {
      if (url.startsWith("http://") || url.startsWith("https://")) {
        urls.add(url);
      }
    }
    urls.add(selfUrl);
    listener.accept(Set.copyOf(urls));
    // Only now: a node that answers ready (load balancers send it clients) already has its ring.
    // Ready first left a window, the first ring's build, in which it owned every key alone.
    ready = true;
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  @Override
  public void deregister() {
    closing = true;
    runAndWait(this::revokeQuietly);
  }

  @Override
  public void close() {
    closing = true;
    runAndWait(() -> {
      closeWatcher();
      revokeQuietly(); // a no-op after deregister(); after a failed start, our key must not linger
    });
    thread.shutdownNow();
    try {
      thread.awaitTermination(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    client.close(); // after the thread stopped (or gave up on it): nothing builds a new one meanwhile
  }

  private void runAndWait(Runnable task) {
    try {
      CompletableFuture.runAsync(task, thread).get(CALL_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("etcd membership did not stop cleanly: {}", e.toString());
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private void submit(Runnable task) {
    if (!closing) {
      try {
        thread.execute(task);
      } catch (RejectedExecutionException e) {
        // closed meanwhile
      }
    }
  }

  private void reachable(boolean up) {
    reachable(up, null);
  }

  private void reachable(boolean up, Exception failure) {
    if (reachable == null || reachable != up) {
      if (up) {
        log.info("etcd reachable{}", client.replacements() == 0 ? ""
            : " (through a fresh client, " + client.replacements() + " built while it was not)");
        client.resetReplacements();
      } else {
        log.warn("etcd unreachable, keeping the last known {} members: {}", members.size(), failure.toString());
      }
      reachable = up;
      events.reachable(up);
    }
  }

  private static <T> T call(CompletableFuture<T> future) throws Exception {
    try {
      return future.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    } catch (TimeoutException e) {
      future.cancel(true);
      throw e;
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, UTF_8);
  }
}
