package io.imgcache.membership;

import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkState;
import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.stream.Collectors.joining;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;

/**
 * A real etcd cluster for tests: {@code /usr/bin/etcd} processes on free loopback ports, each with
 * its own temporary data dir and log file, optionally with auth on (user root) and clients served
 * over TLS. {@link #start} and {@link #restart} block until the members are healthy (polling, at most
 * {@value #HEALTHY_TIMEOUT_SECONDS} s); a failure names what went wrong and carries each member's
 * log tail. A missing binary is an {@link IllegalStateException}, never a skip.
 *
 * <p>Not thread-safe: drive it from one test thread. {@link #close} kills every member (SIGKILL) and
 * deletes the temporary files; a JVM shutdown hook does the same if close is never reached.
 */
public final class EtcdCluster implements AutoCloseable {
  public static final Path ETCD = Path.of("/usr/bin/etcd");
  public static final Path ETCDCTL = Path.of("/usr/bin/etcdctl");
  static final int HEALTHY_TIMEOUT_SECONDS = 15;
  private static final Duration HEALTHY_TIMEOUT = Duration.ofSeconds(HEALTHY_TIMEOUT_SECONDS);
  private static final Duration ETCDCTL_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration PROBE_COMMAND_TIMEOUT = Duration.ofMillis(500);
  private static final Duration HEALTH_COMMAND_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
  private static final long POLL_MILLIS = 50;
  private static final int START_ATTEMPTS = 3;
  private static final int LOG_TAIL_LINES = 25;
  private static final String ROOT = "root";

  private final EtcdOptions options;
  private final Path baseDir;
  private final Thread shutdownHook;
  // Replaced only while starting (a port taken meanwhile means new ports); volatile for the hook.
  private volatile List<EtcdClusterMember> members = List.of();
  // The fields below are set once while starting, on the test thread.
  private String clusterToken;
  private EtcdTestCerts certs; // null unless options.tls
  private String password; // null until auth is enabled
  private boolean closed;

  private EtcdCluster(EtcdOptions options, Path baseDir) {
    this.options = options;
    this.baseDir = baseDir;
    this.shutdownHook =
        new Thread(this::killForShutdown, "etcd-cluster-shutdown-" + baseDir.getFileName());
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts {@code members} plain-http members without auth; blocks until healthy. */
  public static EtcdCluster start(int members) {
    return startWithOptions(EtcdOptions.of(members));
  }

  /** Starts a cluster as {@code options} say; blocks until healthy (and auth enabled, if asked). */
  public static EtcdCluster startWithOptions(EtcdOptions options) {
    return startWithOptions(options, EtcdClusterMember::freePorts);
  }

  /**
   * As {@link #startWithOptions(EtcdOptions)}, taking each try's ports (client and peer port of
   * member 0, then of member 1, ...) from {@code portPicker}, given how many it must return.
   */
  static EtcdCluster startWithOptions(EtcdOptions options, IntFunction<int[]> portPicker) {
    requireExecutable(options.etcd(), "etcd-server");
    requireExecutable(options.etcdctl(), "etcd-client");
    Path baseDir;
    try {
      baseDir = Files.createTempDirectory("imgcache-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException("could not create a temporary dir for etcd", e);
    }
    EtcdCluster cluster = new EtcdCluster(options, baseDir);
    try {
      cluster.boot(portPicker);
      return cluster;
    } catch (RuntimeException | Error e) {
      try {
        cluster.close();
      } catch (RuntimeException closeFailure) {
        e.addSuppressed(closeFailure);
      }
      throw e;
    }
  }

  private static void requireExecutable(Path binary, String debianPackage) {
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException(binary.getFileName() + " not found at " + binary
          + ": install the Debian package " + debianPackage + " (./test.sh does)");
    }
  }

  private void boot(IntFunction<int[]> portPicker) {
    if (options.tls()) {
      try {
        certs = EtcdTestCerts.generate(Files.createDirectory(baseDir.resolve("tls")));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    for (int attempt = 1; ; attempt++) {
      clusterToken = UUID.randomUUID().toString();
      int[] ports = portPicker.apply(2 * options.members());
      String scheme = options.tls() ? "https" : "http";
      members = IntStream.range(0, options.members())
          .mapToObj(i -> new EtcdClusterMember(i, scheme, ports[2 * i], ports[2 * i + 1], baseDir))
          .toList();
      members.forEach(m -> m.start(command(m, "new")));
      try {
        awaitHealthy(members, "etcd cluster start");
        break;
      } catch (IllegalStateException e) {
        // Ports are picked by binding port 0 and releasing it, so another process may take one before
        // etcd binds it; that alone is worth another try on fresh ports.
        boolean portTaken = members.stream()
            .anyMatch(m -> m.logTail(LOG_TAIL_LINES).contains("address already in use"));
        if (!portTaken || attempt == START_ATTEMPTS) {
          throw e;
        }
        killAll();
        for (EtcdClusterMember m : members) {
          deleteRecursively(m.dataDir);
          deleteRecursively(m.logFile); // else the next try's failure would look like a port taken
        }
      }
    }
    if (options.auth()) {
      String pw = UUID.randomUUID().toString();
      runEtcdctl(members, null, "user", "add", ROOT + ":" + pw).checkOk();
      // etcdctl 3.4 grants root the root role by itself when auth enable finds it missing.
      runEtcdctl(members, null, "auth", "enable").checkOk();
      password = pw; // only now: --user before auth is on fails with "authentication is not enabled"
    }
  }

  private List<String> command(EtcdClusterMember m, String clusterState) {
    List<String> command = new ArrayList<>(List.of(options.etcd().toString(),
        "--name", m.name,
        "--data-dir", m.dataDir.toString(),
        "--listen-client-urls", m.clientUrl,
        "--advertise-client-urls", m.clientUrl,
        "--listen-peer-urls", m.peerUrl,
        "--initial-advertise-peer-urls", m.peerUrl,
        "--initial-cluster",
        members.stream().map(o -> o.name + "=" + o.peerUrl).collect(joining(",")),
        "--initial-cluster-token", clusterToken,
        "--initial-cluster-state", clusterState,
        "--heartbeat-interval", "50",
        "--election-timeout", "500",
        "--logger=zap",
        "--log-outputs=stderr"));
    if (certs != null) {
      command.addAll(List.of(
          "--cert-file", certs.serverCertFile().toString(),
          "--key-file", certs.serverKeyFile().toString(),
          "--trusted-ca-file", certs.caFile().toString(),
          "--client-cert-auth"));
    }
    command.addAll(options.extraArgs());
    return command;
  }

  /** Client URLs of all members, in member order, running or not ("http://127.0.0.1:23791"). */
  public List<String> endpoints() {
    return members.stream().map(m -> m.clientUrl).toList();
  }

  /** {@link #endpoints} joined with commas, as etcdctl and the imgcache config take them. */
  public String endpointsCsv() {
    return String.join(",", endpoints());
  }

  /** Number of members, running or not. */
  public int size() {
    return members.size();
  }

  public boolean isRunning(int member) {
    return member(member).isRunning();
  }

  /**
   * A jetcd client builder for this cluster: all endpoints, plus the CA and client certificate when
   * TLS is on and user root when auth is on. The caller builds and closes the client.
   */
  public ClientBuilder clientBuilder() {
    ClientBuilder builder = Client.builder().endpoints(endpoints().toArray(String[]::new));
    if (certs != null) {
      try {
        builder.sslContext(ssl -> ssl
            .trustManager(certs.caFile().toFile())
            .keyManager(certs.clientCertFile().toFile(), certs.clientKeyFile().toFile()));
      } catch (SSLException e) {
        throw new IllegalStateException("could not build an SSL context from " + certs, e);
      }
    }
    if (password != null) {
      builder.user(ByteSequence.from(ROOT, UTF_8)).password(ByteSequence.from(password, UTF_8));
    }
    return builder;
  }

  /**
   * The auth user, "root".
   *
   * @throws IllegalStateException if auth is off
   */
  public String user() {
    checkState(password != null, "auth is off: start with EtcdOptions.withAuth()");
    return ROOT;
  }

  /**
   * The auth user's random password.
   *
   * @throws IllegalStateException if auth is off
   */
  public String password() {
    checkState(password != null, "auth is off: start with EtcdOptions.withAuth()");
    return password;
  }

  /** PEM file of the CA that signed the server and client certificates. */
  public Path caFile() {
    return tls().caFile();
  }

  /** PEM file of the client certificate (CN {@value EtcdTestCerts#CLIENT_CN}, not an etcd user). */
  public Path certFile() {
    return tls().clientCertFile();
  }

  /** PEM file of the client certificate's key, unencrypted PKCS#8 as netty wants it. */
  public Path keyFile() {
    return tls().clientKeyFile();
  }

  private EtcdTestCerts tls() {
    checkState(certs != null, "TLS is off: start with EtcdOptions.withTls()");
    return certs;
  }

  /** Kills member {@code member} with SIGKILL and waits for it to exit; no-op if not running. */
  public void kill(int member) {
    member(member).kill(EXIT_TIMEOUT);
  }

  /**
   * Starts killed member {@code member} again on the same ports and data dir, and blocks until it is
   * healthy, which takes a quorum of running members.
   *
   * @throws IllegalStateException if it is running, or not healthy within the timeout, or the
   *     cluster is closed
   */
  public void restart(int member) {
    checkState(!closed, "etcd cluster closed");
    EtcdClusterMember m = member(member);
    checkState(!m.isRunning(), "etcd member %s is running; kill it before restart", member);
    m.start(command(m, "existing"));
    awaitHealthy(List.of(m), "restart of etcd member " + member);
  }

  /** Kills every running member with SIGKILL (all at once) and waits for them to exit. */
  public void killAll() {
    members.forEach(EtcdClusterMember::destroyForcibly);
    members.forEach(m -> m.awaitExit(EXIT_TIMEOUT));
  }

  /**
   * Restarts every member that is not running (none: only checks health), and blocks until all
   * members are healthy.
   *
   * @throws IllegalStateException if they are not healthy within the timeout, or the cluster is
   *     closed
   */
  public void restartAll() {
    checkState(!closed, "etcd cluster closed");
    members.stream().filter(m -> !m.isRunning()).forEach(m -> m.start(command(m, "existing")));
    awaitHealthy(members, "restart of all etcd members");
  }

  /**
   * Index of the current leader: the running member whose status names itself as leader. Polls
   * until there is one (an election takes up to a few seconds).
   *
   * @throws IllegalStateException if no member is running or no leader shows up within the timeout
   */
  public int leader() {
    long deadline = System.nanoTime() + HEALTHY_TIMEOUT.toNanos();
    while (true) {
      List<EtcdClusterMember> running = running();
      checkState(!running.isEmpty(), "no etcd member is running");
      EtcdctlResult status = status(running);
      for (EtcdEndpointStatus s : EtcdEndpointStatus.parse(status.stdout())) {
        for (EtcdClusterMember m : running) {
          if (s.leads() && m.clientUrl.equals(s.endpoint())) {
            return m.index;
          }
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("no etcd leader among running members within "
            + HEALTHY_TIMEOUT_SECONDS + " s; last status: " + status);
      }
      pause();
    }
  }

  private EtcdctlResult status(List<EtcdClusterMember> targets) {
    return runEtcdctl(targets, PROBE_COMMAND_TIMEOUT, "endpoint", "status", "-w", "json");
  }

  /**
   * Runs {@code /usr/bin/etcdctl} (API 3) against the running members (all members if none runs),
   * adding {@code --user} when auth is on and the certificate flags when TLS is on. Blocks until it
   * exits, at most 15 s (then it is killed and reported with exit code -1).
   */
  public EtcdctlResult etcdctl(String... args) {
    List<EtcdClusterMember> running = running();
    return runEtcdctl(running.isEmpty() ? members : running, null, args);
  }

  private EtcdctlResult runEtcdctl(List<EtcdClusterMember> targets, Duration commandTimeout,
      String... args) {
    List<String> command = new ArrayList<>();
    command.add(options.etcdctl().toString());
    command.add("--endpoints=" + targets.stream().map(m -> m.clientUrl).collect(joining(",")));
    if (commandTimeout != null) {
      command.add("--command-timeout=" + commandTimeout.toMillis() + "ms");
    }
    if (password != null) {
      command.add("--user=" + ROOT + ":" + password);
    }
    if (certs != null) {
      command.add("--cacert=" + certs.caFile());
      command.add("--cert=" + certs.clientCertFile());
      command.add("--key=" + certs.clientKeyFile());
    }
    command.addAll(List.of(args));
    return EtcdctlResult.run(command, Map.of("ETCDCTL_API", "3"), ETCDCTL_TIMEOUT);
  }

  /**
   * Kills every member, waits for them to exit and deletes the data dirs, logs and certificates.
   * Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException failure = null;
    members.forEach(EtcdClusterMember::destroyForcibly);
    for (EtcdClusterMember m : members) {
      try {
        m.awaitExit(EXIT_TIMEOUT);
      } catch (RuntimeException e) {
        failure = addTo(failure, e);
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shutdownInProgress) {
      // The hook is running or about to: it kills the same processes, which is harmless.
    }
    try {
      deleteRecursively(baseDir);
    } catch (RuntimeException e) {
      failure = addTo(failure, e);
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Pids of the last process of each member, running or not (for the fixture's own tests). */
  List<Long> pids() {
    return members.stream().flatMap(m -> m.pid().stream()).toList();
  }

  /** The temporary dir holding every member's data dir and log (for the fixture's own tests). */
  Path baseDir() {
    return baseDir;
  }

  private void killForShutdown() {
    members.forEach(EtcdClusterMember::destroyForcibly);
    try {
      deleteRecursively(baseDir);
    } catch (RuntimeException ignored) {
      // Best effort while the JVM exits; a leftover temp dir is harmless.
    }
  }

  private EtcdClusterMember member(int member) {
    checkElementIndex(member, members.size(), "member");
    return members.get(member);
  }

  private List<EtcdClusterMember> running() {
    return members.stream().filter(EtcdClusterMember::isRunning).toList();
  }

  /**
   * Polls until every one of {@code targets} knows a leader and passes {@code etcdctl endpoint
   * health}, failing fast if one exits.
   */
  private void awaitHealthy(List<EtcdClusterMember> targets, String what) {
    long deadline = System.nanoTime() + HEALTHY_TIMEOUT.toNanos();
    EtcdctlResult last = null;
    while (true) {
      for (EtcdClusterMember m : targets) {
        if (!m.isRunning()) {
          throw startFailure(what + " failed: " + m + " exited with code "
              + m.exitCode().orElse(-1) + " before it was healthy", last);
        }
      }
      // Cheapest first. etcdctl waits its whole command timeout on a port nobody listens on yet, and
      // a health check sent before the election is dropped by raft and also waits it out; a connect
      // and a status (which answers at once, leader or not) do not.
      if (targets.stream().allMatch(EtcdClusterMember::acceptsConnections)) {
        last = status(targets);
        List<EtcdEndpointStatus> statuses = EtcdEndpointStatus.parse(last.stdout());
        if (statuses.size() == targets.size()
            && statuses.stream().allMatch(EtcdEndpointStatus::knowsLeader)) {
          last = runEtcdctl(targets, HEALTH_COMMAND_TIMEOUT, "endpoint", "health");
          if (last.ok()) {
            return;
          }
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw startFailure(what + " failed: not healthy within " + HEALTHY_TIMEOUT_SECONDS + " s",
            last);
      }
      pause();
    }
  }

  private IllegalStateException startFailure(String message, EtcdctlResult lastHealthCheck) {
    StringBuilder text = new StringBuilder(message);
    text.append("\nlast health check: ").append(lastHealthCheck == null ? "none" : lastHealthCheck);
    for (EtcdClusterMember m : members) {
      text.append("\n--- ").append(m).append(", last ").append(LOG_TAIL_LINES)
          .append(" log lines ---\n").append(m.logTail(LOG_TAIL_LINES));
    }
    return new IllegalStateException(text.toString());
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for etcd", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete " + dir, e);
    }
  }

  private static RuntimeException addTo(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }
}
