package io.imgcache;

import com.github.benmanes.caffeine.cache.Ticker;
import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.ResponseCaches;
import io.imgcache.cache.Variants;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.disk.FileStore;
import io.imgcache.group.DiskTier;
import io.imgcache.group.Group;
import io.imgcache.health.HealthMonitor;
import io.imgcache.http.HttpServer;
import io.imgcache.httpclient.ConnectionBudget;
import io.imgcache.httpclient.PoolSettings;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.key.KeyPolicy;
import io.imgcache.membership.EtcdClients;
import io.imgcache.membership.EtcdMembership;
import io.imgcache.membership.Membership;
import io.imgcache.membership.StaticMembership;
import io.imgcache.metrics.Metrics;
import io.imgcache.metrics.NodeStatus;
import io.imgcache.origin.OriginClient;
import io.imgcache.peer.ClusterBan;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.ClusterStatus;
import io.imgcache.peer.PeerClients;
import io.imgcache.http.PeerHandler;
import io.imgcache.peer.RingPeers;
import io.imgcache.ring.Cluster;
import io.undertow.Undertow;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.DefaultByteBufferPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

/**
 * One running imgcache node: wires config, caches, clients, group, membership, health monitor and
 * server together (nothing is global), and takes them down in order. Start with {@link #start};
 * {@link #close} is idempotent and blocks until everything it started has stopped.
 */
public final class Node implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Node.class);
  /**
   * How long after start client requests wait for the first member list at most (README, "Operate",
   * health and readiness); then the node serves with the ring it has (itself alone, etcd down).
   */
  static final Duration MEMBERS_WAIT = Duration.ofSeconds(2);

  private final ImgcacheConfig config;
  private final Cluster cluster;
  private final Group group;
  private final Metrics metrics;
  private final Membership membership;
  private final AtomicBoolean stopping; // set when close() begins: /_imgcache/readyz answers 503 from then on
  private final BooleanSupplier ready; // what /_imgcache/readyz and imgcache_ready answer
  private final HttpServer server;
  private final Deque<AutoCloseable> afterServer; // closed in reverse order of creation
  private boolean closed; // guarded by this

  private Node(ImgcacheConfig config, Cluster cluster, Group group, Metrics metrics, Membership membership,
      AtomicBoolean stopping, BooleanSupplier ready, HttpServer server, Deque<AutoCloseable> afterServer) {
    this.config = config;
    this.cluster = cluster;
    this.group = group;
    this.metrics = metrics;
    this.membership = membership;
    this.stopping = stopping;
    this.ready = ready;
    this.server = server;
    this.afterServer = afterServer;
  }

  /** Starts a node with {@code config}; blocks until it listens. */
  public static Node start(ImgcacheConfig config) {
    Deque<AutoCloseable> resources = new ArrayDeque<>();
    try {
      return start(config, resources);
    } catch (RuntimeException e) {
      closeAll(resources);
      throw e;
    }
  }

  private static Node start(ImgcacheConfig config, Deque<AutoCloseable> resources) {
    long startNanos = System.nanoTime();
    checkDirectMemory(config.cache().maxBytes());
    XnioWorker worker = createWorker(config.listen().ioThreadCount());
    resources.push(() -> shutdown(worker));
    // Buffers come from one lock-free queue that keeps about 512 free (8 MiB, within the margin
    // checkDirectMemory leaves): with a per-thread cache, Undertow 2.3 looks the thread up in a
    // synchronized WeakHashMap on every allocate (2.4 % of a peer-served hit's CPU, with the
    // lookup it still makes on every free), and with that cache off a pool of no fixed size (-1)
    // frees every buffer and allocates anew.
    ByteBufferPool buffers = new DefaultByteBufferPool(true, 16 * 1024, 512, 0);
    Metrics metrics = new Metrics();
    String self = config.selfUrl().toString();

    ImgcacheConfig.Cache cacheConfig = config.cache();
    CachePolicy policy = CachePolicy.builder()
        .implicitFreshness(cacheConfig.implicitFreshness())
        .defaultTtl(cacheConfig.defaultTtl())
        .negativeTtl(cacheConfig.negativeTtl())
        .ttlBounds(cacheConfig.minTtl(), cacheConfig.maxTtl())
        .staleDefaults(cacheConfig.staleWhileRevalidate(), cacheConfig.staleIfError())
        .build();
    ResponseCache main = ResponseCaches.create(cacheConfig.mainBytes(), Ticker.systemTicker(), policy::now);
    ResponseCache hot = ResponseCaches.create(cacheConfig.hotBytes(), Ticker.systemTicker(), policy::now);
    Variants variants = new Variants(cacheConfig.varyAcceptFormats(), Math.max(10_000, cacheConfig.maxBytes() >> 13),
        orphan -> {
          main.invalidate(orphan);
          hot.invalidate(orphan);
        });
    metrics.registerCache("main", () -> figures(main));
    metrics.registerCache("hot", () -> figures(hot));
    DiskTier disk = DiskTier.NONE;
    if (cacheConfig.disk().enabled()) {
      ImgcacheConfig.Disk diskConfig = cacheConfig.disk();
      FileStore store;
      try {
        store = FileStore.open(Path.of(diskConfig.path()), diskConfig.maxBytes(), diskConfig.writeQueue(),
            diskConfig.mappedFiles());
      } catch (IllegalStateException e) {
        throw new IllegalStateException("imgcache.cache.disk.path: " + e.getMessage(), e);
      }
      resources.push(store);
      metrics.registerCache("disk", () -> {
        FileStore.Figures f = store.figures();
        return new Metrics.CacheFigures(f.maxBytes(), f.bytes(), f.entries(), f.hits(), f.misses(), f.evictions());
      });
      metrics.registerDisk(() -> {
        FileStore.Figures f = store.figures();
        return new Metrics.DiskFigures(f.writes(), f.writeDrops(), f.corrupt(), f.scanned(), f.scanDone(),
            f.callerReads(), f.deviceCallerReads(), f.mappedFiles());
      });
      disk = store;
    }

    ImgcacheConfig.Origin originConfig = config.origin();
    ScheduledThreadPoolExecutor queueTimer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "imgcache-origin-queue-timer");
      t.setDaemon(true);
      return t;
    });
    queueTimer.setRemoveOnCancelPolicy(true);
    resources.push(queueTimer::shutdownNow);
    ConnectionBudget originBudget = new ConnectionBudget("origin", originConfig.maxConnections(),
        originConfig.maxQueued(), originConfig.queueTimeout(), queueTimer, System::nanoTime,
        new ConnectionBudget.Listener() {
          @Override
          public void queued() {
            metrics.originQueued();
          }

          @Override
          public void waited(long nanos) {
            metrics.originQueueWaited(nanos);
          }

          @Override
          public void timedOut() {
            metrics.originQueueTimedOut();
          }

          @Override
          public void rejected() {
            metrics.originQueueRejected();
          }
        });
    metrics.registerOriginQueue(originBudget::queued, originBudget::inUse, originBudget.permits());
    // One pool, one budget: loads, revalidations, peers' loads and pass-through all borrow here.
    PooledHttpClient originPool = new PooledHttpClient("origin", worker, buffers, new PoolSettings(
        originConfig.maxConnections(), originConfig.maxConnections(), originConfig.connectTimeout(),
        Duration.ofSeconds(60), originConfig.connectTimeout()), originBudget);
    resources.push(originPool);
    metrics.registerPool("origin", () -> poolFigures(originPool));
    OriginClient origin = new OriginClient(originConfig.url(), originPool, originConfig.timeout(),
        cacheConfig.maxObjectSize(), policy, metrics);

    Cluster cluster = new Cluster(self, config.ring().vnodes(), System::nanoTime);
    metrics.registerMembers(() -> {
      Cluster.Snapshot s = cluster.snapshot();
      Map<String, Boolean> health = new TreeMap<>();
      s.members().forEach(m -> health.put(m, s.healthy(m)));
      return health;
    });
    ImgcacheConfig.Peers peersConfig = config.peers();
    ImgcacheConfig.Pool poolConfig = peersConfig.pool();
    PooledHttpClient peerPool = new PooledHttpClient("peer", worker, buffers, new PoolSettings(
        poolConfig.maxPerPeer(), poolConfig.maxIdlePerPeer(), poolConfig.borrowTimeout(), poolConfig.idleTimeout(),
        peersConfig.connectTimeout()));
    resources.push(peerPool);
    metrics.registerPool("peer", () -> poolFigures(peerPool));
    RingPeers peers = new RingPeers(cluster, new PeerClients(self, config.group(), peerPool, peersConfig.token(),
        peersConfig.timeout(), peersConfig.connectTimeout(), cacheConfig.maxObjectSize(), policy, metrics),
        config.ring().warmupWindow(), System::nanoTime);

    ImgcacheConfig.Health healthConfig = config.health();
    PooledHttpClient probePool = new PooledHttpClient("health", worker, buffers, new PoolSettings(
        2, 1, healthConfig.timeout(), Duration.ofSeconds(60), healthConfig.timeout()));
    HealthMonitor health = new HealthMonitor(cluster, probePool, healthConfig.interval(), healthConfig.timeout(),
        healthConfig.unhealthyThreshold(), healthConfig.healthyThreshold(), healthConfig.sample(),
        new HealthMonitor.Listener() {
          @Override
          public void transition(String peer, boolean healthy) {
            metrics.healthTransition(peer, healthy);
          }
        });
    resources.push(health);

    // A caller waits for its owner, then for a fallback load (queue, connect, response): beyond
    // that it gets a 504.
    Duration deadline = peersConfig.timeout().plus(originConfig.worstCase()).plusSeconds(1);
    Group group = new Group(config.group(), main, hot, variants, peers, origin, policy, deadline, new Group.Events() {
      @Override
      public void coalesced() {
        metrics.coalescedWait();
      }

      @Override
      public void peerFailed(String peerUrl) {
        health.reportFailure(peerUrl);
      }

      @Override
      public void peerFetchStarted(String peerUrl) {
        health.reportFetchStarted(peerUrl);
      }

      @Override
      public void peerFetchEnded(String peerUrl, boolean answered) {
        health.reportFetchEnded(peerUrl, answered);
      }

      @Override
      public void fallback() {
        metrics.fallback();
      }

      @Override
      public void originFailover() {
        metrics.originFailover();
      }

      @Override
      public void banned(int removed) {
        metrics.banned(removed);
      }
    }, disk);
    cluster.addListener(snapshot -> {
      log.info("ring now {} of {} members: {}", snapshot.ring().size(), snapshot.members().size(),
          snapshot.ring().members());
      // Walks the main cache: on a worker thread, never the caller's (membership or health).
      worker.execute(() -> {
        Cluster.Snapshot now = cluster.snapshot();
        int moved = group.demoteNotOwned(key -> now.ring().owner(key).equals(self));
        if (moved > 0) {
          log.info("moved {} entries this node no longer owns from the main to the hot cache", moved);
        }
      });
    });

    Membership membership = config.membership() == ImgcacheConfig.Membership.ETCD
        ? etcdMembership(config, metrics)
        : new StaticMembership(self, peersConfig.staticMembers().stream().map(URI::toString).toList());
    resources.push(membership);
    AtomicBoolean stopping = new AtomicBoolean();
    BooleanSupplier ready = () -> !stopping.get() && membership.ready();
    metrics.registerReadiness(ready);

    KeyPolicy keys = new KeyPolicy(cacheConfig.key().sortQuery(), cacheConfig.key().ignoreParams(),
        cacheConfig.key().maxLength());
    NodeStatus status = new NodeStatus(self, Version.describe(), metrics, ready, () -> cluster.snapshot().ring().size(),
        System::nanoTime, startNanos);
    PeerHandler peerHandler = new PeerHandler(group, keys, peersConfig.token(), config.adminToken(), policy,
        originConfig.timeout(), metrics, status);
    // What this node shows the others' peer endpoints for purges, bans and the status.
    String memberToken = peersConfig.token().isEmpty() ? config.adminToken() : peersConfig.token();
    ClusterPurge purge = new ClusterPurge(cluster, group, peerPool, memberToken, peersConfig.timeout());
    ClusterBan ban = new ClusterBan(cluster, group, peerPool, memberToken, peersConfig.timeout(),
        cacheConfig.banLifetime(), System::nanoTime, membership::publishBan);
    resources.push(ban);
    membership.followBans(config.etcd().bansPrefix(), ban::applyStored);
    ClusterStatus clusterStatus = new ClusterStatus(cluster, status::report, peerPool, memberToken);
    // Client requests wait for the first member list, or until MEMBERS_WAIT has passed (etcd down).
    CompletableFuture<Void> membersKnown = new CompletableFuture<Void>()
        .completeOnTimeout(null, MEMBERS_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    HttpServer server = HttpServer.start(config.listen().host(), config.listen().port(), worker, buffers,
        new HttpServer.Routes(group, keys, policy, cacheConfig.passRequestCookies(), peerHandler, purge, ban, status,
            clusterStatus, cluster, metrics, ready, config.adminToken(), originConfig.url(),
            originConfig.timeout(), originPool, config.listen().maxHeaderLine(), membersKnown));
    // Only once the port is ours: a start that fails to bind must never have registered (it
    // would have taken over the key of the node that holds the port).
    membership.start(members -> {
      cluster.setMembers(members);
      membersKnown.complete(null);
    });
    health.start();
    log.info("imgcache node {} listening on {}:{}, origin {}, membership {}", self, config.listen().host(),
        server.port(), originConfig.url(), config.membership().name().toLowerCase(Locale.ROOT));
    return new Node(config, cluster, group, metrics, membership, stopping, ready, server, resources);
  }

  private static Membership etcdMembership(ImgcacheConfig config, Metrics metrics) {
    ImgcacheConfig.Etcd etcd = config.etcd();
    metrics.registerEtcd();
    return new EtcdMembership(() -> EtcdClients.create(etcd), config.selfUrl().toString(), etcd.prefix(),
        etcd.leaseTtl(), System::nanoTime, new EtcdMembership.EtcdEvents() {
          @Override
          public void reachable(boolean up) {
            metrics.etcdUp(up);
          }

          @Override
          public void leaseGranted() {
            metrics.etcdLeaseGranted();
          }

          @Override
          public void resynced() {
            metrics.etcdResynced();
          }
        });
  }

  /**
   * Cached bodies live in direct memory (see CachedResponse): refuse to start a cache that cannot
   * fit, rather than fail loads with "OutOfMemoryError: Direct buffer memory" later.
   */
  private static void checkDirectMemory(long cacheBytes) {
    long limit = Runtime.getRuntime().maxMemory(); // the JVM's default for MaxDirectMemorySize
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("-XX:MaxDirectMemorySize=")) {
        limit = parseSize(arg.substring("-XX:MaxDirectMemorySize=".length()));
      }
    }
    // Undertow's own buffers take direct memory too: leave them a margin.
    long needed = cacheBytes + (32L << 20);
    if (needed > limit) {
      throw new IllegalStateException("imgcache.cache.max-bytes (" + (cacheBytes >> 20) + " MiB) does not fit the "
          + "JVM's direct memory limit (" + (limit >> 20) + " MiB): raise -XX:MaxDirectMemorySize (or -Xmx) "
          + "in JAVA_OPTS to at least " + ((needed >> 20) + 1) + "m");
    }
  }

  private static long parseSize(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
      case 'k' -> 1L << 10;
      case 'm' -> 1L << 20;
      case 'g' -> 1L << 30;
      case 't' -> 1L << 40;
      default -> 1;
    };
    return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
  }

  private static Map<String, Metrics.PoolFigures> poolFigures(PooledHttpClient pool) {
    Map<String, Metrics.PoolFigures> out = new TreeMap<>();
    pool.figuresByTarget().forEach((target, f) ->
        out.put(target, new Metrics.PoolFigures(f.active(), f.idle(), f.created(), f.destroyed())));
    return out;
  }

  private static Metrics.CacheFigures figures(ResponseCache cache) {
    ResponseCache.Stats s = cache.stats();
    return new Metrics.CacheFigures(s.maxBytes(), s.bytes(), s.entries(), s.hits(), s.misses(), s.evictions());
  }

  private static XnioWorker createWorker(int ioThreads) {
    try {
      return Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.builder()
          .set(Options.WORKER_NAME, "imgcache")
          .set(Options.WORKER_IO_THREADS, ioThreads)
          .set(Options.WORKER_TASK_CORE_THREADS, 4)
          // Not tied to io-threads: blocking tasks (ring demotion, bans) need not shrink with them.
          .set(Options.WORKER_TASK_MAX_THREADS, 8 * Math.max(2, Runtime.getRuntime().availableProcessors()))
          .set(Options.WORKER_TASK_KEEPALIVE, 60_000)
          .set(Options.TCP_NODELAY, true)
          // Stop accepting at 16k client connections (resume below 15k): well inside the unit's
          // LimitNOFILE, with room left for pooled peer and origin connections.
          .set(Options.CONNECTION_HIGH_WATER, 16_384)
          .set(Options.CONNECTION_LOW_WATER, 15_000)
          .getMap());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the XNIO worker", e);
    }
  }

  public int port() {
    return server.port();
  }

  public ImgcacheConfig config() {
    return config;
  }

  public Metrics metrics() {
    return metrics;
  }

  public Group group() {
    return group;
  }

  public Cluster cluster() {
    return cluster;
  }

  /** Whether the member list has been loaded and the node is not stopping (what {@code /_imgcache/readyz} answers). */
  public boolean ready() {
    return ready.getAsBoolean();
  }

  /**
   * Stops the node in the order DESIGN §7 gives: /_imgcache/readyz turns 503, deregister (peers drop us through the watch),
   * wait {@code shutdown.deregister-wait} while still serving, stop accepting and drain in-flight
   * requests up to {@code shutdown.drain-timeout}, close the server, then the health monitor,
   * pools, membership (the etcd client) and the worker. Blocks; safe to call twice.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    // Load balancers see /_imgcache/readyz fail at once and take the node out while it still serves.
    stopping.set(true);
    try {
      membership.deregister();
      // Peers drop us through the watch (etcd), load balancers through /_imgcache/readyz (either membership).
      log.info("deregistered; serving {}ms more while peers and load balancers notice",
          config.shutdown().deregisterWait().toMillis());
      Thread.sleep(config.shutdown().deregisterWait().toMillis());
      if (!server.drain(config.shutdown().drainTimeout())) {
        log.warn("requests still in flight after {}ms; closing anyway", config.shutdown().drainTimeout().toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    closeAll(afterServer);
    log.info("imgcache node {} stopped", config.selfUrl());
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    while (!resources.isEmpty()) {
      try {
        resources.pop().close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", e.getClass().getSimpleName(), e.toString());
      }
    }
  }

  private static void shutdown(XnioWorker worker) {
    worker.shutdown();
    try {
      if (!worker.awaitTermination(5, TimeUnit.SECONDS)) {
        worker.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      worker.shutdownNow();
    }
  }
}
