package io.imgcache.http;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Connections that cost a server without ever completing a request, all served by one selector
 * thread: idle ones that send nothing, and slowloris ones that trickle a never-ending header one
 * byte per interval, replaced by a fresh one whenever the server drops one (as an attacker would),
 * so the pressure holds for the whole attack. Records when and how the server let go of each slow
 * connection. Start with {@link #start}; {@link #close} closes everything it opened.
 */
final class ConnectionFlood implements AutoCloseable {
  /** The header a slow connection trickles: never finished, the blank line never comes. */
  private static final byte[] SLOW_HEAD = ("GET /v2/image/slowloris HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
      + "a".repeat(4096)).getBytes(StandardCharsets.US_ASCII);

  /** How a slow connection ended: the node closed it, or answered it, after {@code millis}. */
  record Ended(long millis, int bytesSent, String how) {}

  private final InetSocketAddress target;
  private final int slowCount;
  private final Duration trickleInterval;
  private final Duration attack;
  private final Duration grace;
  private final List<SocketChannel> idle = new ArrayList<>(); // confined to the caller's thread
  private final List<Ended> ended = Collections.synchronizedList(new ArrayList<>());
  private final Thread thread;
  private volatile boolean stopTrickling;
  private volatile int openSlow; // written by the flood thread only
  private volatile Throwable failure;

  private ConnectionFlood(int port, int slowCount, Duration trickleInterval, Duration attack, Duration grace) {
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    this.slowCount = slowCount;
    this.trickleInterval = trickleInterval;
    this.attack = attack;
    this.grace = grace;
    this.thread = new Thread(this::run, "slowloris");
    this.thread.setDaemon(true);
  }

  /**
   * Opens {@code idleCount} idle connections (blocking until all are connected), then starts
   * {@code slowCount} slowloris connections that trickle for {@code attack}, replacing each one the
   * server drops until then; after the attack it waits up to {@code grace} for the server to let go
   * of the slow connections still open.
   */
  static ConnectionFlood start(int port, int idleCount, int slowCount, Duration trickleInterval, Duration attack,
      Duration grace) throws IOException {
    ConnectionFlood flood = new ConnectionFlood(port, slowCount, trickleInterval, attack, grace);
    try {
      for (int i = 0; i < idleCount; i++) {
        flood.idle.add(SocketChannel.open(flood.target));
      }
    } catch (IOException e) {
      flood.close();
      throw new IOException("opened only " + flood.idle.size() + " of " + idleCount + " idle connections", e);
    }
    flood.thread.start();
    return flood;
  }

  /** How many idle connections the server has closed so far (each probed without blocking). */
  int idleClosedByServer() throws IOException {
    int closed = 0;
    ByteBuffer one = ByteBuffer.allocate(1);
    for (SocketChannel channel : idle) {
      channel.configureBlocking(false);
      one.clear();
      try {
        if (channel.read(one) < 0) {
          closed++;
        }
      } catch (IOException e) {
        closed++;
      }
    }
    return closed;
  }

  int idleCount() {
    return idle.size();
  }

  /** Slow connections currently open. */
  int openSlow() {
    return openSlow;
  }

  /** Every slow connection that has ended so far. */
  List<Ended> ended() {
    synchronized (ended) {
      return List.copyOf(ended);
    }
  }

  /**
   * Waits for the attack and its grace period to end; returns how many slow connections the server
   * did not let go of (they have been closed by this side).
   */
  int awaitEnd() throws InterruptedException {
    thread.join(attack.plus(grace).toMillis() + 5_000);
    if (failure != null) {
      throw new AssertionError("the slowloris thread failed", failure);
    }
    return openSlow;
  }

  /** One slow connection: what it has sent and when it opened. */
  private static final class Slow {
    final SocketChannel channel;
    final long opened = System.nanoTime();
    int sent;
    final StringBuilder answer = new StringBuilder();

    Slow(SocketChannel channel) {
      this.channel = channel;
    }
  }

  private void run() {
    try (Selector selector = Selector.open()) {
      long start = System.nanoTime();
      long attackEnd = start + attack.toNanos();
      List<Slow> slows = new ArrayList<>();
      for (int i = 0; i < slowCount; i++) {
        slows.add(open(selector));
      }
      openSlow = slows.size();
      long nextTrickle = System.nanoTime();
      ByteBuffer buffer = ByteBuffer.allocate(4096);
      long graceEnd = Long.MAX_VALUE;
      while (!slows.isEmpty() && System.nanoTime() - graceEnd < 0 && !Thread.currentThread().isInterrupted()) {
        selector.select(50);
        for (SelectionKey key : selector.selectedKeys()) {
          Slow slow = (Slow) key.attachment();
          buffer.clear();
          int n;
          try {
            n = slow.channel.read(buffer);
          } catch (IOException e) {
            n = -1;
          }
          if (n > 0) {
            slow.answer.append(new String(buffer.array(), 0, n, StandardCharsets.ISO_8859_1));
          } else if (n < 0) {
            end(slow, slows, key);
          }
        }
        selector.selectedKeys().clear();
        long now = System.nanoTime();
        boolean attacking = now - attackEnd < 0;
        if (!attacking && graceEnd == Long.MAX_VALUE) {
          stopTrickling = true;
          graceEnd = now + grace.toNanos();
        }
        if (attacking && now - nextTrickle >= 0) {
          nextTrickle += trickleInterval.toNanos();
          for (Slow slow : List.copyOf(slows)) {
            trickle(slow, slows);
          }
        }
        // The attacker keeps its connection count up while the attack lasts.
        while (attacking && slows.size() < slowCount) {
          slows.add(open(selector));
        }
        openSlow = slows.size();
      }
      openSlow = slows.size();
      for (Slow slow : slows) {
        slow.channel.close();
      }
    } catch (Throwable t) {
      failure = t;
    }
  }

  private Slow open(Selector selector) throws IOException {
    SocketChannel channel = SocketChannel.open(target);
    channel.configureBlocking(false);
    Slow slow = new Slow(channel);
    channel.register(selector, SelectionKey.OP_READ, slow);
    trickle(slow, null);
    return slow;
  }

  private void trickle(Slow slow, List<Slow> slows) {
    if (stopTrickling || slow.sent >= SLOW_HEAD.length) {
      return;
    }
    try {
      slow.channel.write(ByteBuffer.wrap(SLOW_HEAD, slow.sent, 1));
      slow.sent++;
    } catch (IOException e) {
      if (slows != null) {
        end(slow, slows, null); // closing the channel cancels its key
      }
    }
  }

  private void end(Slow slow, List<Slow> slows, SelectionKey key) {
    if (!slows.remove(slow)) {
      return;
    }
    if (key != null) {
      key.cancel();
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - slow.opened);
    String answer = slow.answer.toString();
    String how = answer.isEmpty() ? "closed" : answer.lines().findFirst().orElse("");
    ended.add(new Ended(millis, slow.sent, how));
    try {
      slow.channel.close();
    } catch (IOException e) {
      // closing a dead connection
    }
  }

  @Override
  public void close() {
    stopTrickling = true;
    thread.interrupt();
    for (SocketChannel channel : idle) {
      try {
        channel.close();
      } catch (IOException e) {
        // best effort
      }
    }
  }
}
