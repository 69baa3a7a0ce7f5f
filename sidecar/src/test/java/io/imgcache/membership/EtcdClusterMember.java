package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One etcd process of an {@link EtcdCluster}. The name, ports, data dir and log file are fixed at
 * construction and survive kills and restarts; the process is replaced on each {@link #start}.
 * Called from the test thread; only {@link #destroyForcibly} may also run on the shutdown hook.
 */
final class EtcdClusterMember {
  final int index;
  final String name;
  final int clientPort;
  final int peerPort;
  final String clientUrl;
  final String peerUrl;
  final Path dataDir;
  final Path logFile;

  // Written by the test thread only; volatile because the JVM shutdown hook reads it.
  private volatile Process process;

  EtcdClusterMember(int index, String clientScheme, int clientPort, int peerPort, Path baseDir) {
    this.index = index;
    this.name = "m" + index;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.clientUrl = clientScheme + "://127.0.0.1:" + clientPort;
    this.peerUrl = "http://127.0.0.1:" + peerPort;
    this.dataDir = baseDir.resolve(name + ".data");
    this.logFile = baseDir.resolve(name + ".log");
  }

  /** Starts etcd with {@code command}, stdout and stderr appended to {@link #logFile}. */
  void start(List<String> command) {
    if (isRunning()) {
      throw new IllegalStateException("etcd member " + index + " is already running (pid "
          + process.pid() + ")");
    }
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(dataDir.getParent().toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    builder.environment().keySet().removeIf(var -> var.startsWith("ETCD"));
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start etcd member " + index + ": " + command, e);
    }
  }

  boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** Whether something accepts TCP connections on the client port (etcd is up, maybe not ready). */
  boolean acceptsConnections() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Exit code of the last process if it has exited, else empty. */
  Optional<Integer> exitCode() {
    Process p = process;
    return p == null || p.isAlive() ? Optional.empty() : Optional.of(p.exitValue());
  }

  /** Pid of the last process started, running or not; empty if never started. */
  Optional<Long> pid() {
    Process p = process;
    return p == null ? Optional.empty() : Optional.of(p.pid());
  }

  /** Sends SIGKILL without waiting. Safe from any thread, and when not running. */
  void destroyForcibly() {
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
    }
  }

  /** Sends SIGKILL and waits up to {@code timeout} for the process to be gone. */
  void kill(Duration timeout) {
    destroyForcibly();
    awaitExit(timeout);
  }

  /** Waits up to {@code timeout} for the process to be gone; fails if it is still there. */
  void awaitExit(Duration timeout) {
    Process p = process;
    if (p == null) {
      return;
    }
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("etcd member " + index + " (pid " + p.pid()
            + ") still running " + timeout.toMillis() + " ms after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for etcd member " + index + " to exit", e);
    }
  }

  /** The last {@code lines} lines of the member's log, or a note saying why there are none. */
  String logTail(int lines) {
    try {
      if (!Files.exists(logFile)) {
        return "(no log file " + logFile + ")";
      }
      List<String> all = new String(Files.readAllBytes(logFile), UTF_8).lines().toList();
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(could not read " + logFile + ": " + e + ")";
    }
  }

  @Override
  public String toString() {
    return "etcd member " + index + " (" + clientUrl + ", peer " + peerUrl + ")";
  }

  /** {@code count} distinct free loopback ports: all bound to port 0 at once, then released. */
  static int[] freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException("could not find free loopback ports", e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // Closing a listening socket that never accepted does not fail in practice.
        }
      }
    }
  }
}
