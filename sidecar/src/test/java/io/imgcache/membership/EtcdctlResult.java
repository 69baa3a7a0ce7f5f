package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What one run of a command-line tool (etcdctl; openssl for the TLS certificates) returned: the
 * command, its exit code and its whole stdout and stderr. Immutable.
 */
public record EtcdctlResult(List<String> command, int exitCode, String stdout, String stderr) {
  public EtcdctlResult {
    command = List.copyOf(command);
  }

  /** Whether the command exited with 0. */
  public boolean ok() {
    return exitCode == 0;
  }

  /**
   * Returns this result if the command exited with 0.
   *
   * @throws IllegalStateException naming the command, its exit code and its output otherwise
   */
  public EtcdctlResult checkOk() {
    if (!ok()) {
      throw new IllegalStateException("command failed: " + this);
    }
    return this;
  }

  @Override
  public String toString() {
    return String.join(" ", command) + " -> exit " + exitCode
        + "\n  stdout: " + stdout.strip() + "\n  stderr: " + stderr.strip();
  }

  /**
   * Runs {@code command} to completion, with every {@code ETCD*} variable removed from the inherited
   * environment and {@code env} added. Blocks up to {@code timeout}; a command still running then is
   * killed (SIGKILL) and reported with exit code -1 and "timed out" in its stderr.
   */
  static EtcdctlResult run(List<String> command, Map<String, String> env, Duration timeout) {
    Path out = null;
    Path err = null;
    Process process = null;
    try {
      out = Files.createTempFile("imgcache-cmd-", ".out");
      err = Files.createTempFile("imgcache-cmd-", ".err");
      // Files rather than pipes: a pipe nobody reads can stall the command, and reading pipes with
      // blocking reads would defeat the timeout.
      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      builder.environment().keySet().removeIf(name -> name.startsWith("ETCD"));
      builder.environment().putAll(env);
      process = builder.start();
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
      String stderr = read(err);
      if (!exited) {
        stderr += "\n(timed out after " + timeout.toMillis() + " ms; killed)";
      }
      return new EtcdctlResult(command, exited ? process.exitValue() : -1,
          read(out), stderr);
    } catch (IOException e) {
      throw new UncheckedIOException("could not run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    } finally {
      if (process != null && process.isAlive()) {
        process.destroyForcibly(); // interrupted: do not leave it running
      }
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  /** The file as UTF-8, malformed bytes (a binary value from "get") replaced rather than thrown. */
  private static String read(Path file) throws IOException {
    return new String(Files.readAllBytes(file), UTF_8);
  }

  private static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // A leftover temp file is harmless.
      }
    }
  }
}
