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
import org.apache.commons.pool2.impl.GenericKeyedObjectPool;
import org.apache.commons.pool2.impl.GenericKeyedObjectPoolConfig;
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

  /**
   * @param name names the borrow threads, e.g. "origin" or "peer"
   * @param worker the XNIO worker whose IO threads run the connections; owned by the caller
   */
  public PooledHttpClient(String name, XnioWorker worker, ByteBufferPool buffers, PoolSettings settings) {
    this.name = name;
    this.settings = settings;
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
    ClientConnection idle = pool.getNumIdle(target) > 0 ? borrowIdle(target) : null;
    if (idle != null) {
      // The common case under load: a warm connection, taken without a thread hop.
      new Exchange(idle, method, target, path, headers, timeout.toNanos(), maxBody, result,
          reusable -> release(target, idle, reusable)).start();
      return result;
    }
    try {
      borrowers.execute(() -> borrowAndSend(method, target, path, headers, timeout, maxBody, result));
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(new HttpClientException(Kind.CONNECT, name + " client is closed", e));
    }
    return result;
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

  private void borrowAndSend(HttpString method, URI target, String path, List<String> headers, Duration timeout,
      long maxBody, CompletableFuture<HttpResponse> result) {
    ClientConnection connection;
    try {
      connection = pool.borrowObject(target);
    } catch (NoSuchElementException e) {
      result.completeExceptionally(new HttpClientException(Kind.POOL_EXHAUSTED, "no connection to " + target
          + " free within " + settings.borrowTimeout().toMillis() + "ms", e));
      return;
    } catch (HttpClientException e) {
      result.completeExceptionally(e);
      return;
    } catch (Exception e) {
      result.completeExceptionally(new HttpClientException(Kind.CONNECT,
          "cannot connect to " + target + ": " + e.getMessage(), e));
      return;
    }
    new Exchange(connection, method, target, path, headers, timeout.toNanos(), maxBody, result,
        reusable -> release(target, connection, reusable)).start();
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
