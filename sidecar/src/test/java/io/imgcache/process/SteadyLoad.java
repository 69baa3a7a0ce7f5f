package io.imgcache.process;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A paced client load for node-process tests: {@code threads} threads send GETs for a fixed set of
 * request targets, round robin over the targets and the given nodes, at about {@code rate}
 * requests per second in all, and check every answer against the origin's: status 200, the same
 * Content-Type, the same body byte for byte. Anything else is recorded as an error (the first
 * {@value #ERRORS_KEPT} are kept with what went wrong).
 *
 * <p>Thread-safe; {@link #stop} waits for the requests in flight, so the figures it returns are
 * final.
 */
final class SteadyLoad implements AutoCloseable {
  /** What the origin answers for a target. */
  record Expected(byte[] body, String contentType) {}

  /** What the load saw, once stopped. */
  record Summary(long requests, long errorCount, List<String> errors, Map<String, Long> byXCache,
      long slowestMillis) {
    @Override
    public String toString() {
      return requests + " requests, " + errorCount + " errors, X-Cache " + byXCache + ", slowest " + slowestMillis
          + " ms";
    }
  }

  static final int ERRORS_KEPT = 20;
  /** One request gives up after this: longer than a node's own deadline (peer + origin timeout + 1 s). */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

  private final HttpClient http;
  private final List<String> targets;
  private final Map<String, Expected> expected;
  private final List<NodeProcess> nodes;
  private final long paceNanos; // per thread
  private final long startNanos = System.nanoTime();
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLong sequence = new AtomicLong();
  private final LongAdder completed = new LongAdder();
  private final LongAdder errorCount = new LongAdder();
  private final List<String> errors = new ArrayList<>(); // guarded by itself
  private final Map<String, LongAdder> byXCache = new ConcurrentHashMap<>();
  private final AtomicLong slowestNanos = new AtomicLong();
  private volatile boolean stopping;

  private SteadyLoad(HttpClient http, List<String> targets, Map<String, Expected> expected, List<NodeProcess> nodes,
      int threads, int rate) {
    this.http = http;
    this.targets = List.copyOf(targets);
    this.expected = expected;
    this.nodes = List.copyOf(nodes);
    this.paceNanos = 1_000_000_000L * threads / rate;
  }

  /** Starts the load through {@code nodes}; every target must be in {@code expected}. */
  static SteadyLoad start(HttpClient http, List<String> targets, Map<String, Expected> expected,
      List<NodeProcess> nodes, int threads, int rate) {
    checkArgument(!nodes.isEmpty() && !targets.isEmpty(), "need nodes and targets");
    checkArgument(expected.keySet().containsAll(targets), "every target needs its expected answer");
    SteadyLoad load = new SteadyLoad(http, targets, expected, nodes, threads, rate);
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(load::run, "steady-load-" + i);
      t.setDaemon(true);
      load.threads.add(t);
      t.start();
    }
    return load;
  }

  /** Requests answered so far, right or wrong. */
  long completed() {
    return completed.sum();
  }

  /** Errors so far. */
  long errorCount() {
    return errorCount.sum();
  }

  private void run() {
    long next = System.nanoTime();
    while (!stopping) {
      long n = sequence.getAndIncrement();
      String target = targets.get((int) (n % targets.size()));
      // Each pass over the targets shifts the node, so every target goes through every node.
      NodeProcess node = nodes.get((int) ((n + n / targets.size()) % nodes.size()));
      once(node, target);
      completed.increment();
      next += paceNanos;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      } else {
        next = System.nanoTime(); // behind after a slow answer: carry on, no burst to catch up
      }
    }
  }

  private void once(NodeProcess node, String target) {
    long sent = System.nanoTime();
    HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + target)).timeout(REQUEST_TIMEOUT).build();
    try {
      HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      long took = System.nanoTime() - sent;
      slowestNanos.accumulateAndGet(took, Math::max);
      String xCache = response.headers().firstValue("X-Cache").orElse("(none)");
      byXCache.computeIfAbsent(xCache, k -> new LongAdder()).increment();
      String problem = check(expected.get(target), response);
      if (problem != null) {
        error(sent, node, target, problem + " (X-Cache " + xCache + ", " + took / 1_000_000 + " ms)");
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      error(sent, node, target, e.toString() + " after " + (System.nanoTime() - sent) / 1_000_000 + " ms");
    }
  }

  /** What is wrong with {@code response}, or null. */
  static String check(Expected expected, HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      return "status " + response.statusCode() + ": "
          + new String(response.body(), 0, Math.min(200, response.body().length)).strip();
    }
    String type = response.headers().firstValue("Content-Type").orElse(null);
    if (!expected.contentType().equals(type)) {
      return "Content-Type " + type + ", expected " + expected.contentType();
    }
    byte[] body = response.body();
    if (!Arrays.equals(expected.body(), body)) {
      int differ = Arrays.mismatch(expected.body(), body);
      return "body of " + body.length + " bytes differs from the origin's " + expected.body().length
          + " bytes at byte " + differ;
    }
    return null;
  }

  private void error(long sentNanos, NodeProcess node, String target, String problem) {
    errorCount.increment();
    synchronized (errors) {
      if (errors.size() < ERRORS_KEPT) {
        errors.add(String.format("+%d ms %s %s: %s", (sentNanos - startNanos) / 1_000_000, node.name(), target,
            problem));
      }
    }
  }

  /** Stops sending, waits for the requests in flight, and returns the figures. */
  Summary stop() {
    stopping = true;
    for (Thread t : threads) {
      try {
        t.join(REQUEST_TIMEOUT.plusSeconds(5).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping the load", e);
      }
      checkState(!t.isAlive(), "%s still running after its request timeout", t.getName());
    }
    Map<String, Long> counts = new TreeMap<>();
    byXCache.forEach((k, v) -> counts.put(k, v.sum()));
    synchronized (errors) {
      return new Summary(completed.sum(), errorCount.sum(), List.copyOf(errors), counts,
          slowestNanos.get() / 1_000_000);
    }
  }

  @Override
  public void close() {
    if (!stopping) {
      stop();
    }
  }
}
