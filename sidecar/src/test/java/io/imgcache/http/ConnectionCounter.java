package io.imgcache.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test fixture: a TCP relay in front of an origin that counts the connections open through it —
 * what the origin sees from the node. A connection counts from its accept until the node's side
 * closes (or the origin's does). Thread-safe; {@link #close} stops every thread it started.
 */
final class ConnectionCounter implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "test-connection-counter");
    t.setDaemon(true);
    return t;
  });
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger max = new AtomicInteger();
  private final AtomicInteger accepted = new AtomicInteger();

  private ConnectionCounter(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    threads.execute(this::accept);
  }

  static ConnectionCounter start(int targetPort) {
    try {
      return new ConnectionCounter(targetPort);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  int port() {
    return server.getLocalPort();
  }

  /** The most connections ever open at once. */
  int max() {
    return max.get();
  }

  /** Starts {@link #max} again from the connections open now. */
  void resetMax() {
    max.set(open.get());
  }

  /** Connections ever accepted. */
  int accepted() {
    return accepted.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      max.accumulateAndGet(open.incrementAndGet(), Math::max);
      threads.execute(() -> relay(client));
    }
  }

  private void relay(Socket client) {
    sockets.add(client);
    try (client; Socket origin = new Socket(InetAddress.getLoopbackAddress(), targetPort)) {
      sockets.add(origin);
      threads.execute(() -> copy(origin, client));
      copy(client, origin);
    } catch (IOException e) {
      // The origin refused or went away: the node sees the close.
    } finally {
      open.decrementAndGet();
    }
  }

  /** Copies until {@code from} ends, then closes both: either side's close ends the connection. */
  private void copy(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      // reset or closed by the other copier
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      sockets.remove(from);
      sockets.remove(to);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    sockets.forEach(ConnectionCounter::closeQuietly);
    threads.shutdownNow();
    try {
      threads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
