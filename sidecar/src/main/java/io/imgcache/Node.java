package io.imgcache;

import com.github.benmanes.caffeine.cache.Ticker;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.ResponseCaches;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.group.Group;
import io.imgcache.http.HttpServer;
import io.imgcache.httpclient.PoolSettings;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.origin.OriginClient;
import io.imgcache.peer.PeerClients;
import io.imgcache.peer.PeerHandler;
import io.imgcache.peer.RingPeers;
import io.imgcache.ring.Cluster;
import io.undertow.Undertow;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.DefaultByteBufferPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

/**
 * One running imgcache node: wires config, caches, clients, group and server together, and takes
 * them down in order. Start with {@link #start}; {@link #close} is idempotent and blocks until
 * everything it started has stopped.
 */
public final class Node implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Node.class);

  private final ImgcacheConfig config;
  private final XnioWorker worker;
  private final PooledHttpClient originPool;
  private final PooledHttpClient peerPool;
  private final Cluster cluster;
  private final Group group;
  private final Metrics metrics;
  private final HttpServer server;
  private boolean closed; // guarded by this

  private Node(ImgcacheConfig config, XnioWorker worker, PooledHttpClient originPool, PooledHttpClient peerPool,
      Cluster cluster, Group group, Metrics metrics, HttpServer server) {
    this.config = config;
    this.worker = worker;
    this.originPool = originPool;
    this.peerPool = peerPool;
    this.cluster = cluster;
    this.group = group;
    this.metrics = metrics;
    this.server = server;
  }

  /** Starts a node with {@code config}; blocks until it listens. */
  public static Node start(ImgcacheConfig config) {
    XnioWorker worker = createWorker();
    ByteBufferPool buffers = new DefaultByteBufferPool(true, 16 * 1024, -1, 4);
    Metrics metrics = new Metrics();

    ImgcacheConfig.Cache cacheConfig = config.cache();
    ResponseCache main = ResponseCaches.create(cacheConfig.mainBytes(), cacheConfig.ttl(), cacheConfig.negativeTtl(),
        Ticker.systemTicker());
    ResponseCache hot = ResponseCaches.create(cacheConfig.hotBytes(), cacheConfig.ttl(), cacheConfig.negativeTtl(),
        Ticker.systemTicker());
    metrics.registerCache("main", () -> figures(main));
    metrics.registerCache("hot", () -> figures(hot));

    ImgcacheConfig.Origin originConfig = config.origin();
    PooledHttpClient originPool = new PooledHttpClient("origin", worker, buffers, new PoolSettings(
        originConfig.maxConnections(), originConfig.maxConnections(), originConfig.connectTimeout(),
        Duration.ofSeconds(60), originConfig.connectTimeout()));
    metrics.registerPool("origin", () -> poolFigures(originPool));
    OriginClient origin = new OriginClient(originConfig.url(), originPool, originConfig.timeout(),
        cacheConfig.maxObjectSize(), metrics);

    // A caller waits for its owner, then for a fallback load: beyond that it gets a 504.
    Duration deadline = config.peers().timeout().plus(originConfig.timeout()).plusSeconds(1);
    Cluster cluster = new Cluster(config.selfUrl().toString(), config.ring().vnodes(), System::nanoTime);
    cluster.setMembers(config.peers().staticMembers().stream().map(URI::toString).toList());
    ImgcacheConfig.Peers peersConfig = config.peers();
    ImgcacheConfig.Pool poolConfig = peersConfig.pool();
    PooledHttpClient peerPool = new PooledHttpClient("peer", worker, buffers, new PoolSettings(
        poolConfig.maxPerPeer(), poolConfig.maxIdlePerPeer(), poolConfig.borrowTimeout(), poolConfig.idleTimeout(),
        peersConfig.connectTimeout()));
    metrics.registerPool("peer", () -> poolFigures(peerPool));
    RingPeers peers = new RingPeers(cluster, new PeerClients(config.group(), peerPool, peersConfig.token(),
        peersConfig.timeout(), cacheConfig.maxObjectSize(), metrics));
    Group group = new Group(config.group(), main, hot, peers, origin, deadline, new Group.Events() {
      @Override
      public void coalesced() {
        metrics.coalescedWait();
      }

      @Override
      public void fallback() {
        metrics.fallback();
      }
    });
    KeyPolicy keys = new KeyPolicy(cacheConfig.key().sortQuery(), cacheConfig.key().ignoreParams(),
        cacheConfig.key().maxLength());
    PeerHandler peerHandler = new PeerHandler(group, keys, peersConfig.token(), metrics);

    HttpServer server;
    try {
      int perThread = Math.max(1, originConfig.maxConnections() / Math.max(1, worker.getIoThreadCount()));
      server = HttpServer.start(config.listen().host(), config.listen().port(), worker, buffers,
          new HttpServer.Routes(group, keys, peerHandler, cluster, metrics, () -> true, config.adminToken(),
              originConfig.url(), originConfig.timeout(), perThread));
    } catch (RuntimeException e) {
      peerPool.close();
      originPool.close();
      shutdown(worker);
      throw e;
    }
    Node node = new Node(config, worker, originPool, peerPool, cluster, group, metrics, server);
    log.info("imgcache node {} listening on {}:{}, origin {}", config.selfUrl(), config.listen().host(),
        server.port(), originConfig.url());
    return node;
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

  private static XnioWorker createWorker() {
    int ioThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
    try {
      return Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.builder()
          .set(Options.WORKER_NAME, "imgcache")
          .set(Options.WORKER_IO_THREADS, ioThreads)
          .set(Options.WORKER_TASK_CORE_THREADS, 4)
          .set(Options.WORKER_TASK_MAX_THREADS, 8 * ioThreads)
          .set(Options.WORKER_TASK_KEEPALIVE, 60_000)
          .set(Options.TCP_NODELAY, true)
          .set(Options.CONNECTION_HIGH_WATER, 100_000)
          .set(Options.CONNECTION_LOW_WATER, 100_000)
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

  /**
   * Stops the node: drains in-flight requests (up to {@code shutdown.drain-timeout}), closes the
   * server, the pools and the worker. Blocks; safe to call twice.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      if (!server.drain(config.shutdown().drainTimeout())) {
        log.warn("requests still in flight after {}ms; closing anyway", config.shutdown().drainTimeout().toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    peerPool.close();
    originPool.close();
    shutdown(worker);
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
