package io.imgcache.httpclient;

import io.undertow.client.ClientConnection;
import io.undertow.client.UndertowClient;
import io.undertow.connector.ByteBufferPool;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.commons.pool2.BaseKeyedPooledObjectFactory;
import org.apache.commons.pool2.DestroyMode;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.XnioWorker;

/**
 * Opens, checks and closes Undertow client connections for the pool. {@link #create} blocks for up
 * to the connect timeout, so the pool must only be borrowed from off the IO threads.
 */
final class ConnectionFactory extends BaseKeyedPooledObjectFactory<URI, ClientConnection> {
  private final XnioWorker worker;
  private final ByteBufferPool buffers;
  private final Duration connectTimeout;
  private final ConcurrentHashMap<URI, LongAdder> created = new ConcurrentHashMap<>();
  /** Set while an IO thread borrows: the pool may then take an idle connection, never make one. */
  private final ThreadLocal<Boolean> idleOnly = ThreadLocal.withInitial(() -> Boolean.FALSE);
  private final ConcurrentHashMap<URI, LongAdder> destroyed = new ConcurrentHashMap<>();

  ConnectionFactory(XnioWorker worker, ByteBufferPool buffers, Duration connectTimeout) {
    this.worker = worker;
    this.buffers = buffers;
    this.connectTimeout = connectTimeout;
  }

  /** Thrown instead of connecting while {@link #idleOnly} is set. */
  static final class WouldBlock extends IOException {
    WouldBlock() {
      super("no idle connection", null);
    }
  }

  void idleOnly(boolean on) {
    idleOnly.set(on);
  }

  @Override
  public ClientConnection create(URI target) throws IOException {
    if (idleOnly.get()) {
      throw new WouldBlock();
    }
    IoFuture<ClientConnection> future =
        UndertowClient.getInstance().connect(target, worker, buffers, OptionMap.create(Options.TCP_NODELAY, true));
    if (future.await(connectTimeout.toMillis(), TimeUnit.MILLISECONDS) == IoFuture.Status.DONE) {
      created.computeIfAbsent(target, t -> new LongAdder()).increment();
      return future.get();
    }
    // Cancelling Undertow's connect future does nothing: close the connection if it comes late.
    future.addNotifier((f, ignored) -> {
      if (f.getStatus() == IoFuture.Status.DONE) {
        try {
          IoUtils.safeClose(f.get());
        } catch (IOException e) {
          // Not connected after all: nothing to close.
        }
      }
    }, null);
    if (future.getStatus() == IoFuture.Status.FAILED) {
      throw new HttpClientException(HttpClientException.Kind.CONNECT,
          "cannot connect to " + target + ": " + future.getException().getMessage(), future.getException());
    }
    throw new HttpClientException(HttpClientException.Kind.CONNECT,
        "cannot connect to " + target + " within " + connectTimeout.toMillis() + "ms", null);
  }

  @Override
  public PooledObject<ClientConnection> wrap(ClientConnection connection) {
    return new DefaultPooledObject<>(connection);
  }

  @Override
  public boolean validateObject(URI target, PooledObject<ClientConnection> pooled) {
    // An idle connection notices the server's FIN within milliseconds and reports !isOpen().
    return pooled.getObject().isOpen();
  }

  @Override
  public void destroyObject(URI target, PooledObject<ClientConnection> pooled, DestroyMode mode) {
    destroyed.computeIfAbsent(target, t -> new LongAdder()).increment();
    ClientConnection connection = pooled.getObject();
    // The client is not thread-safe: close it on its own IO thread.
    connection.getIoThread().execute(() -> IoUtils.safeClose(connection));
  }

  long created(URI target) {
    LongAdder count = created.get(target);
    return count == null ? 0 : count.sum();
  }

  long destroyed(URI target) {
    LongAdder count = destroyed.get(target);
    return count == null ? 0 : count.sum();
  }

  /** Every target a connection was ever opened to. */
  Set<URI> targets() {
    return created.keySet();
  }
}
