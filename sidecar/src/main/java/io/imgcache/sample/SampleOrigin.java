package io.imgcache.sample;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;
import static java.util.Objects.requireNonNull;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import java.awt.GraphicsEnvironment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stand-in for imgfit: an HTTP/1.1 server (Undertow, keep-alive) that renders real images of
 * the requested size, for {@code imgcache sample-origin}, {@code imgcache demo} and benchmarks.
 *
 * <h2>Requests</h2>
 *
 * <ul>
 *   <li>{@code GET|HEAD /v2/image/{png|jpg|gif}/{id}?w=W&h=H&type=T} — an image exactly W × H
 *       pixels. {@code w} defaults to 640, {@code h} to 480; each must be 1..4000. {@code type}
 *       is optional, one of {@code .png .jpg .jpeg .gif .webp}: the output format if this JVM
 *       can write it, else the path's format ({@code .webp} on a plain JDK). {@code
 *       Content-Type} always names what was written. Other parameters are ignored.
 *   <li>{@code GET|HEAD /v2/blob/{id}?size=N} — exactly N pseudo-random bytes, {@code
 *       application/octet-stream}; N is required, 0..64 MiB.
 *   <li>Any other path: 404. A known path with another method: 405 with {@code Allow}. A bad
 *       parameter: 400. Refusals have a one-line plain-text body saying why.
 * </ul>
 *
 * <p>Successful responses carry {@code Content-Type}, {@code Content-Length}, a strong {@code
 * ETag} (a quoted hash of the body), {@code Last-Modified: Mon, 02 Jan 2006 15:04:05 GMT} and
 * {@code Cache-Control: public, max-age=86400}.
 *
 * <h2>Determinism</h2>
 *
 * The same URL gives the same bytes, always: the picture (a gradient, a disc, a bar, a 2-bit
 * grain, and the id and size in a bitmap font) is computed from a hash of the id with integer
 * arithmetic, and no AWT font is used. Across machines, PNG and JPEG bytes also depend on the
 * zlib and libjpeg the JDK uses; the decoded pixels do not.
 *
 * <h2>Body sizes</h2>
 *
 * PNG is the size knob, at about 1.4 bytes per pixel. Measured on OpenJDK 17 (Debian), id {@code
 * 003}; other ids vary by about ±7 %:
 *
 * <pre>
 *   /v2/image/png/003?w=36&amp;h=36       2.4 KB
 *   /v2/image/png/003?w=110&amp;h=110      20 KB
 *   /v2/image/png/003?w=380&amp;h=380     201 KB
 *   /v2/image/png/003                   420 KB  (640 × 480)
 *   /v2/image/gif/003?w=160&amp;h=160      21 KB
 *   /v2/image/gif/003                   198 KB
 *   /v2/image/jpg/003?w=100&amp;h=100     1.9 KB
 *   /v2/image/jpg/003                    14 KB
 * </pre>
 *
 * JPEG grows little with the area (its quantisation removes most of the grain); for an exact size
 * use {@code /v2/blob}. Rendering 640 × 480 takes tens of milliseconds, 4000 × 4000 PNG (20 MB)
 * about a second.
 *
 * <h2>Cost</h2>
 *
 * Each accepted request waits the configured delay (the cost of a resize) on an IO-thread timer,
 * so the wait holds no thread. Bodies are then memoised (up to 64 MiB) so that benchmarks
 * measure the node rather than ImageIO; the delay still applies to every request. Rendering runs
 * on Undertow's worker pool, never on an IO thread.
 *
 * <p>Thread-safe. {@link #close()} stops the server and every thread it started.
 */
public final class SampleOrigin implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SampleOrigin.class);

  /** How long {@link #close()} lets in-flight renders finish before interrupting the pool. */
  private static final int SHUTDOWN_TIMEOUT_MILLIS = 10_000;

  private final Undertow server;
  private final OriginHandler handler;
  private final int port;
  private final String workerName;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SampleOrigin(Undertow server, OriginHandler handler, int port, String workerName) {
    this.server = server;
    this.handler = handler;
    this.port = port;
    this.workerName = workerName;
  }

  /**
   * Starts a sample origin listening on {@code host}:{@code port}; blocks until it listens.
   *
   * @param port 0 to pick a free port (see {@link #port()})
   * @param delay added to every accepted request; {@link Duration#ZERO} for none
   * @throws IllegalArgumentException if port is outside 0..65535 or delay is negative
   * @throws IllegalStateException if AWT is already initialised with {@code java.awt.headless}
   *     false
   * @throws RuntimeException if the port cannot be bound (Undertow's wrapping of the cause)
   */
  public static SampleOrigin start(String host, int port, Duration delay) {
    requireNonNull(host, "host");
    requireNonNull(delay, "delay");
    checkArgument(port >= 0 && port <= 65535, "port must be in 0..65535, was %s", port);
    checkArgument(!delay.isNegative(), "delay must not be negative, was %s", delay);
    requireHeadless();
    Set<Format> writable = EnumSet.noneOf(Format.class);
    for (Format format : Format.values()) {
      if (ImageIO.getImageWritersByFormatName(format.imageIoName()).hasNext()) {
        writable.add(format);
      }
    }
    OriginHandler handler = new OriginHandler(delay, writable);
    Undertow server =
        Undertow.builder()
            .addHttpListener(port, host)
            .setServerOption(UndertowOptions.SHUTDOWN_TIMEOUT, SHUTDOWN_TIMEOUT_MILLIS)
            .setHandler(handler)
            .build();
    server.start();
    String workerName = server.getWorker().getName();
    int bound = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    log.info("sample origin on {}:{}, delay {}, formats {}", host, bound, delay, writable);
    return new SampleOrigin(server, handler, bound, workerName);
  }

  /**
   * AWT decides once per JVM whether it is headless. Unless the launcher already chose, choose
   * headless here: the origin needs no display, and a server host has none.
   */
  private static void requireHeadless() {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    checkState(
        GraphicsEnvironment.isHeadless(),
        "the sample origin needs java.awt.headless=true, was %s",
        System.getProperty("java.awt.headless"));
  }

  /** The port listened on: the one asked for, or the one picked when 0 was asked for. */
  public int port() {
    return port;
  }

  /**
   * How many requests have arrived since start, refused ones included, counted on arrival (before
   * the delay). This is how a test or benchmark sees how often the cache went to its origin.
   */
  public long requestCount() {
    return handler.received();
  }

  /** The XNIO worker's name; its threads' names start with it. For tests. */
  String workerName() {
    return workerName;
  }

  /**
   * Stops listening, closes connections, and stops Undertow's IO and worker threads. Blocks until
   * they have terminated, up to about 10 s if a render is under way. Only the first call does
   * anything; later ones return at once, even while the first is still stopping.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    server.stop();
    log.info("sample origin on port {} stopped", port);
  }
}
