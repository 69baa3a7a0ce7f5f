package io.imgcache.process;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Package {@code io.imgcache.process}: tests that run real imgcache nodes as separate processes from
 * the fat jar, and signal them as an operator or the kernel would.
 *
 * <p>This fixture is one such node: {@code java -jar imgcache.jar run} on a loopback port that was
 * free a moment before, with etcd membership, short health and shutdown timings, and stdout and
 * stderr going to a log file whose tail {@link #logTail} gives for failure messages. {@link #start}
 * blocks until {@code /_imgcache/readyz} answers 200 (at most {@value #READY_TIMEOUT_SECONDS} s), retrying on
 * a fresh port if the port was taken meanwhile.
 *
 * <p>The jar comes from the system property {@value #JAR_PROPERTY}, which maven-failsafe sets after
 * {@code package}; without it (or without the file) starting fails saying to run {@code mvn verify}.
 * It never skips.
 *
 * <p>Never leaves a process behind: {@link #close} kills the node (SIGKILL, which also ends a
 * stopped process) and waits for it; a JVM shutdown hook does the same if close is never reached.
 * Thread-safe for the read-only calls ({@link #ring}, {@link #holding}, {@link #isAlive}); drive the
 * lifecycle ({@link #signal}, {@link #waitForExit}, {@link #close}) from one thread.
 */
final class NodeProcess implements AutoCloseable {
  static final String JAR_PROPERTY = "it.imgcache.jar";
  static final String ETCD_PREFIX = "/imgcache2/nodes/";
  static final int READY_TIMEOUT_SECONDS = 30;
  static final int LOG_TAIL_LINES = 40;

  private static final Set<String> SIGNALS = Set.of("TERM", "KILL", "STOP", "CONT");
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
  private static final long POLL_MILLIS = 10;
  private static final int START_ATTEMPTS = 3;
  // {"url":"http://127.0.0.1:9000","healthy":true,"share":0.33}: what /_imgcache/ring lists.
  private static final Pattern RING_MEMBER =
      Pattern.compile("\"url\"\\s*:\\s*\"([^\"]*)\"\\s*,\\s*\"healthy\"\\s*:\\s*(true|false)");
  private static final Pattern HOLDING =
      Pattern.compile("\"main\"\\s*:\\s*(true|false)\\s*,\\s*\"hot\"\\s*:\\s*(true|false)");

  private final String name;
  private final int port;
  private final Path log;
  private final Process process;
  private final HttpClient http;
  private final Thread shutdownHook;
  private final long readyAtNanos;
  private boolean closed; // confined to the driving thread

  private NodeProcess(String name, int port, Path log, Process process, HttpClient http, Thread shutdownHook,
      long readyAtNanos) {
    this.name = name;
    this.port = port;
    this.log = log;
    this.process = process;
    this.http = http;
    this.shutdownHook = shutdownHook;
    this.readyAtNanos = readyAtNanos;
  }

  /**
   * The fat jar failsafe hands over in {@value #JAR_PROPERTY}.
   *
   * @throws IllegalStateException if the property is missing or names no file
   */
  static Path jar() {
    String property = System.getProperty(JAR_PROPERTY);
    checkState(property != null && !property.isBlank(), "system property %s is not set: these tests run the fat"
        + " jar, so run them with `mvn verify` (maven-failsafe sets it after package)", JAR_PROPERTY);
    Path jar = Path.of(property);
    checkState(Files.isRegularFile(jar), "%s=%s does not exist: run `mvn verify`, which builds it first",
        JAR_PROPERTY, jar);
    return jar;
  }

  /**
   * Starts node {@code name} registering in etcd at {@code etcdEndpoints}, loading from {@code
   * originUrl}, logging to a file in {@code logDir}, and blocks until its {@code /_imgcache/readyz} answers 200.
   * {@code http} is used for readiness and the admin calls; the caller owns it.
   *
   * @throws IllegalStateException with the log tail if the node exits or is not ready in time
   */
  static NodeProcess start(String name, List<String> etcdEndpoints, String originUrl, Path logDir, HttpClient http) {
    return start(name, etcdEndpoints, originUrl, logDir, http, List.of());
  }

  /** Like {@link #start(String, List, String, Path, HttpClient)}, with {@code extra} JVM options (-D...). */
  static NodeProcess start(String name, List<String> etcdEndpoints, String originUrl, Path logDir, HttpClient http,
      List<String> extra) {
    Path jar = jar();
    for (int attempt = 1; ; attempt++) {
      int port = freePort();
      Path log = logDir.resolve(name + "-" + port + ".log");
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Dimgcache.listen.host=127.0.0.1",
          "-Dimgcache.listen.port=" + port,
          "-Dimgcache.self-url=http://127.0.0.1:" + port,
          "-Dimgcache.membership=etcd"));
      for (int i = 0; i < etcdEndpoints.size(); i++) {
        command.add("-Dimgcache.etcd.endpoints." + i + "=" + etcdEndpoints.get(i));
      }
      command.addAll(List.of(
          "-Dimgcache.origin.url=" + originUrl,
          "-Dimgcache.shutdown.deregister-wait=500ms",
          "-Dimgcache.health.interval=500ms",
          "-Dimgcache.health.timeout=300ms",
          // NodeProcessIT times fail-over with a 2 s peer timeout; it must cover the owner's
          // origin queue + connect + response (start-up checks), so these are short too.
          "-Dimgcache.peers.timeout=2s",
          "-Dimgcache.origin.timeout=1s",
          "-Dimgcache.origin.queue-timeout=500ms",
          "-Dimgcache.origin.connect-timeout=300ms",
          "-Dimgcache.etcd.lease-ttl=10s",
          "-Xmx256m"));
      command.addAll(extra);
      command.addAll(List.of(
          // Diagnostics only: tells a JVM stalled in GC from a slow code path when a timing fails.
          "-Xlog:gc:file=" + logDir.resolve(name + "-" + port + ".gc.log"),
          "-jar", jar.toString(), "run"));
      Process process;
      try {
        process = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
      } catch (IOException e) {
        throw new UncheckedIOException("could not start " + command, e);
      }
      Thread hook = new Thread(process::destroyForcibly, "kill-node-" + name);
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        long readyAt = awaitReady(name, port, process, log, http);
        return new NodeProcess(name, port, log, process, http, hook, readyAt);
      } catch (RuntimeException | Error e) {
        kill(process, hook);
        // The port was free when picked and released; another process may have bound it since.
        if (attempt < START_ATTEMPTS && tail(log, LOG_TAIL_LINES).contains("Address already in use")) {
          continue;
        }
        throw e;
      }
    }
  }

  private static long awaitReady(String name, int port, Process process, Path log, HttpClient http) {
    URI readyz = URI.create("http://127.0.0.1:" + port + "/_imgcache/readyz");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_SECONDS);
    String last = "no answer yet";
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("node " + name + " on port " + port + " exited with code "
            + process.exitValue() + " before /_imgcache/readyz answered 200\n" + tailSection(name, log));
      }
      try {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(readyz).timeout(ADMIN_TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return System.nanoTime();
        }
        last = response.statusCode() + " " + response.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for node " + name, e);
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("node " + name + " on port " + port + " not ready within "
            + READY_TIMEOUT_SECONDS + " s; last /_imgcache/readyz: " + last + "\n" + tailSection(name, log));
      }
      pause(POLL_MILLIS);
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }

  String name() {
    return name;
  }

  int port() {
    return port;
  }

  /** {@code http://127.0.0.1:<port>}: its self-url, its identity on every ring. */
  String url() {
    return "http://127.0.0.1:" + port;
  }

  /** Its etcd key: {@code /imgcache2/nodes/http:__127.0.0.1:<port>}. */
  String etcdKey() {
    return ETCD_PREFIX + url().replace('/', '_');
  }

  long pid() {
    return process.pid();
  }

  /** {@link System#nanoTime} when {@code /_imgcache/readyz} first answered 200 (polled every 10 ms). */
  long readyAtNanos() {
    return readyAtNanos;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Sends {@code SIG<signal>} with {@code kill -<signal> <pid>}.
   *
   * @throws IllegalArgumentException unless signal is TERM, KILL, STOP or CONT
   * @throws IllegalStateException if kill fails (the process is gone, say)
   */
  void signal(String signal) {
    checkArgument(SIGNALS.contains(signal), "signal must be one of %s, was %s", SIGNALS, signal);
    List<String> command = List.of("kill", "-" + signal, Long.toString(pid()));
    try {
      Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] output = kill.getInputStream().readAllBytes();
      checkState(kill.waitFor(5, TimeUnit.SECONDS), "%s did not return within 5 s", command);
      checkState(kill.exitValue() == 0, "%s failed with exit code %s: %s", command, kill.exitValue(),
          new String(output, UTF_8).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("could not run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  /**
   * Blocks until the process exits, at most {@code timeout}; returns its exit code.
   *
   * @throws IllegalStateException with the log tail if it is still running then
   */
  int waitForExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("node " + this + " still running " + timeout.toMillis() + " ms later\n"
            + tailSection(name, log));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for node " + this + " to exit", e);
    }
    return process.exitValue();
  }

  /**
   * What this node's {@code /_imgcache/ring} says: member URL → healthy, in its order.
   *
   * @throws IOException if the node does not answer 200 within 2 s
   */
  Map<String, Boolean> ring() throws IOException {
    String body = admin("/_imgcache/ring");
    Map<String, Boolean> members = new LinkedHashMap<>();
    Matcher m = RING_MEMBER.matcher(body);
    while (m.find()) {
      members.put(m.group(1), Boolean.parseBoolean(m.group(2)));
    }
    if (members.isEmpty()) {
      throw new IOException("no members in " + url() + "/_imgcache/ring: " + body);
    }
    return members;
  }

  /** Where this node holds a request target's key. */
  record Holding(boolean main, boolean hot) {}

  /**
   * What this node's {@code GET /_imgcache/cache?key=<target>} says.
   *
   * @throws IOException if the node does not answer 200 within 2 s
   */
  Holding holding(String target) throws IOException {
    String body = admin("/_imgcache/cache?key=" + URLEncoder.encode(target, UTF_8));
    Matcher m = HOLDING.matcher(body);
    if (!m.find()) {
      throw new IOException("unexpected answer from " + url() + "/_imgcache/cache for " + target + ": " + body);
    }
    return new Holding(Boolean.parseBoolean(m.group(1)), Boolean.parseBoolean(m.group(2)));
  }

  private String admin(String pathAndQuery) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url() + pathAndQuery)).timeout(ADMIN_TIMEOUT).build();
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (response.statusCode() != 200) {
      throw new IOException(request.uri() + " answered " + response.statusCode() + ": " + response.body());
    }
    return response.body();
  }

  /** The last {@code lines} lines of its log. */
  String logTail(int lines) {
    return tail(log, lines);
  }

  /** Its log tail under a heading naming it, for failure messages. */
  String logSection() {
    return tailSection(name + " " + url() + " pid " + pid(), log);
  }

  Path log() {
    return log;
  }

  /** Kills the node (SIGKILL) if it still runs and waits for it. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    kill(process, shutdownHook);
  }

  @Override
  public String toString() {
    return name + " (" + url() + ", pid " + pid() + ")";
  }

  private static void kill(Process process, Thread hook) {
    process.destroyForcibly(); // SIGKILL: ends a SIGSTOPped process too
    try {
      if (!process.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("process " + process.pid() + " survived SIGKILL for "
            + EXIT_TIMEOUT.toMillis() + " ms");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shutdownInProgress) {
      // The hook runs anyway; killing a dead process again is harmless.
    }
  }

  private static String tailSection(String title, Path log) {
    return "--- " + title + ", last " + LOG_TAIL_LINES + " lines of " + log + " ---\n" + tail(log, LOG_TAIL_LINES);
  }

  private static String tail(Path log, int lines) {
    try {
      List<String> all = Arrays.asList(new String(Files.readAllBytes(log), UTF_8).split("\n"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
