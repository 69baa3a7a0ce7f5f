package io.imgcache.httpclient;

import static com.google.common.base.Preconditions.checkArgument;

import io.imgcache.httpclient.HttpClientException.Kind;
import io.undertow.client.ClientConnection;
import io.undertow.connector.ByteBufferPool;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.commons.pool2.impl.GenericKeyedObjectPool;
import org.apache.commons.pool2.impl.GenericKeyedObjectPoolConfig;
import org.xnio.IoUtils;
import org.xnio.XnioWorker;

/**
 * An HTTP/1.1 client for GETs whose whole (bounded) response is wanted, over keep-alive connections
 * pooled per target {@code http://host:port}. Thread-safe; {@link #get} never blocks: borrowing
 * (which may wait for a free connection or a connect) happens on the client's own borrow threads,
 * the exchange on the connection's IO thread.
 *
 * <p>A connection is reused only after a complete, clean exchange; any failure invalidates it.
 */
public final class PooledHttpClient implements AutoCloseable {
  private final String name;
  private final PoolSettings settings;
  private final ConnectionFactory factory;
  private final GenericKeyedObjectPool<URI, ClientConnection> pool;
  private final ThreadPoolExecutor borrowers;
  private final ConnectionBudget budget; // null: none

  /**
   * @param name names the borrow threads, e.g. "origin" or "peer"
   * @param worker the XNIO worker whose IO threads run the connections; owned by the caller
   */
  public PooledHttpClient(String name, XnioWorker worker, ByteBufferPool buffers, PoolSettings settings) {
    this(name, worker, buffers, settings, null);
  }

  /**
   * A client whose every request first takes a permit of {@code budget} (waiting in its queue when
   * all are held) and keeps it until its connection is back in the pool or closed, so that at most
   * {@code budget.permits()} connections are busy and, the pool holding no more than that, open.
   * {@code settings.maxPerTarget()} must equal the permits (a budget serves one target). Null: no
   * budget; requests wait up to the pool's borrow timeout instead.
   */
  public PooledHttpClient(String name, XnioWorker worker, ByteBufferPool buffers, PoolSettings settings,
      ConnectionBudget budget) {
    checkArgument(budget == null || budget.permits() == settings.maxPerTarget(),
        "budget permits (%s) must equal maxPerTarget (%s)", budget == null ? 0 : budget.permits(),
        settings.maxPerTarget());
    this.name = name;
    this.settings = settings;
    this.budget = budget;
    this.factory = new ConnectionFactory(worker, buffers, settings.connectTimeout());
    GenericKeyedObjectPoolConfig<ClientConnection> config = new GenericKeyedObjectPoolConfig<>();
    config.setMaxTotalPerKey(settings.maxPerTarget());
    config.setMaxIdlePerKey(settings.maxIdlePerTarget());
    config.setMaxTotal(-1);
    config.setMaxWait(settings.borrowTimeout());
    config.setBlockWhenExhausted(true);
    config.setTestOnBorrow(true);
    config.setLifo(true); // the most recently used connection is the one most likely still open
    config.setTimeBetweenEvictionRuns(evictionPeriod(settings.idleTimeout()));
    config.setMinEvictableIdleDuration(settings.idleTimeout());
    config.setNumTestsPerEvictionRun(-4); // a quarter of the idle connections per run
    config.setJmxEnabled(false);
    this.pool = new GenericKeyedObjectPool<>(factory, config);
    int threads = Math.max(4, Math.min(64, settings.maxPerTarget()));
    this.borrowers = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "imgcache-" + name + "-borrow");
          t.setDaemon(true);
          return t;
        });
    borrowers.allowCoreThreadTimeOut(true);
  }

  private static Duration evictionPeriod(Duration idleTimeout) {
    Duration half = idleTimeout.dividedBy(2);
    return half.compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10) : half;
  }

  /**
   * Sends {@code GET path} to {@code target} with {@code headers} (alternating name, value; Host is
   * added) and completes with the whole response, or exceptionally with an {@link
   * HttpClientException}. The future completes on an IO thread; callers must not block there.
   *
   * @param target {@code http://host:port}, the pool key
   * @param timeout for the exchange once a connection is borrowed
   * @param maxBody larger bodies fail with {@link Kind#TOO_LARGE} (the connection is closed)
   */
  public CompletableFuture<HttpResponse> get(URI target, String path, List<String> headers, Duration timeout,
      long maxBody) {
    return send(Methods.GET, target, path, headers, timeout, maxBody);
  }

  /** Like {@link #get} with another bodiless method (e.g. DELETE). */
  public CompletableFuture<HttpResponse> send(HttpString method, URI target, String path, List<String> headers,
      Duration timeout, long maxBody) {
    checkArgument(headers.size() % 2 == 0, "headers must alternate name and value, got %s items", headers.size());
    CompletableFuture<HttpResponse> result = new CompletableFuture<>();
    lease(target).whenComplete((lease, failure) -> {
      if (failure != null) {
        result.completeExceptionally(failure);
        return;
      }
      new Exchange(lease.connection(), method, target, path, headers, timeout.toNanos(), maxBody, result,
          lease::release).start();
    });
    return result;
  }

  /**
   * A connection to {@code target} for the caller's own exchange (a streamed pass-through): a
   * budget permit first (queued while all are held), then an idle connection or a new one. The
   * caller must touch the connection on its IO thread only and end with exactly one {@link
   * Lease#release}. Fails with an {@link HttpClientException} (queue full or timed out, cannot
   * connect). Never blocks; may complete on an IO thread, a borrow thread or the budget's timer.
   */
  public CompletableFuture<Lease> lease(URI target) {
    if (budget == null) {
      return borrow(target, null);
    }
    return budget.acquire().thenCompose(permit -> borrow(target, permit));
  }

  /** A borrowed connection and the budget permit it holds; see {@link #lease}. Thread-safe. */
  public final class Lease {
    private final URI target;
    private final ClientConnection connection;
    private final ConnectionBudget.Permit permit; // null without a budget
    private final AtomicBoolean released = new AtomicBoolean();

    private Lease(URI target, ClientConnection connection, ConnectionBudget.Permit permit) {
      this.target = target;
      this.connection = connection;
      this.permit = permit;
    }

    public ClientConnection connection() {
      return connection;
    }

    /**
     * Gives the connection back ({@code reusable}: after a complete, clean exchange) or closes it,
     * then frees the permit; only the first call counts. Call it on the connection's IO thread: a
     * connection that is not reused is closed right here, before the permit lets the next request
     * open one, so that the target never sees more connections than the budget.
     */
    public void release(boolean reusable) {
      if (!released.compareAndSet(false, true)) {
        return;
      }
      boolean keep = reusable && connection.isOpen();
      if (!keep) {
        IoUtils.safeClose(connection);
      }
      PooledHttpClient.this.release(target, connection, keep);
      if (permit != null) {
        permit.release();
      }
    }
  }

  private CompletableFuture<Lease> borrow(URI target, ConnectionBudget.Permit permit) {
    CompletableFuture<Lease> result = new CompletableFuture<>();
    ClientConnection idle = pool.getNumIdle(target) > 0 ? borrowIdle(target) : null;
    if (idle != null) {
      // The common case under load: a warm connection, taken without a thread hop.
      result.complete(new Lease(target, idle, permit));
      return result;
    }
    try {
      borrowers.execute(() -> borrowBlocking(target, permit, result));
    } catch (RejectedExecutionException e) {
      fail(result, permit, new HttpClientException(Kind.CONNECT, name + " client is closed", e));
    }
    return result;
  }

  private static void fail(CompletableFuture<Lease> result, ConnectionBudget.Permit permit, Throwable failure) {
    if (permit != null) {
      permit.release();
    }
    result.completeExceptionally(failure);
  }

  /**
   * An idle connection to {@code target} taken without blocking, or null: safe on an IO thread
   * (the pool neither waits nor connects here).
   */
  private ClientConnection borrowIdle(URI target) {
    factory.idleOnly(true);
    try {
      return pool.borrowObject(target, Duration.ZERO);
    } catch (Exception e) {
      return null; // none idle after all (another thread took it), or closed: take the slow path
    } finally {
      factory.idleOnly(false);
    }
  }

  private void borrowBlocking(URI target, ConnectionBudget.Permit permit, CompletableFuture<Lease> result) {
    ClientConnection connection;
    try {
      connection = pool.borrowObject(target);
    } catch (NoSuchElementException e) {
      fail(result, permit, new HttpClientException(Kind.POOL_EXHAUSTED, "no connection to " + target
          + " free within " + settings.borrowTimeout().toMillis() + "ms", e));
      return;
    } catch (HttpClientException e) {
      fail(result, permit, e);
      return;
    } catch (Exception e) {
      fail(result, permit, new HttpClientException(Kind.CONNECT,
          "cannot connect to " + target + ": " + e.getMessage(), e));
      return;
    }
    result.complete(new Lease(target, connection, permit));
  }

  private void release(URI target, ClientConnection connection, boolean reusable) {
    try {
      if (reusable) {
        pool.returnObject(target, connection);
      } else {
        pool.invalidateObject(target, connection);
      }
    } catch (Exception e) {
      // The pool was closed meanwhile: it has closed or will close the connection itself.
    }
  }

  /** Connection figures for one target. */
  public Figures figures(URI target) {
    return new Figures(pool.getNumActive(target), pool.getNumIdle(target), factory.created(target),
        factory.destroyed(target));
  }

  /** Connection figures of every target this client has connected to, by target URL. */
  public Map<String, Figures> figuresByTarget() {
    Map<String, Figures> all = new TreeMap<>();
    for (URI target : factory.targets()) {
      all.put(target.toString(), figures(target));
    }
    return all;
  }

  /** How many connections are in use and idle, and how many were ever opened and closed. */
  public record Figures(long active, long idle, long created, long destroyed) {}

  /** Stops borrowing, closes idle connections and the pool (and with it the shared evictor when last). */
  @Override
  public void close() {
    borrowers.shutdownNow();
    try {
      borrowers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pool.close();
  }
}
