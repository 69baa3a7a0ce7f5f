package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A throwaway CA, a server certificate for {@code 127.0.0.1}/{@code localhost} and a client
 * certificate signed by it, as PEM files made with openssl. Keys are P-256 EC keys in unencrypted
 * PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), which both etcd and netty read.
 *
 * <p>openssl rather than keytool: keytool cannot write a private key as PEM, and openssl is on every
 * Debian machine with a JDK (ca-certificates depends on it).
 */
record EtcdTestCerts(Path caFile, Path serverCertFile, Path serverKeyFile, Path clientCertFile,
    Path clientKeyFile) {

  /**
   * Common name of the client certificate. Deliberately not an etcd user: with
   * {@code --client-cert-auth} and auth enabled, etcd takes the CN as the user name when a request
   * has no token, so a CN of "root" would make every TLS client root.
   */
  static final String CLIENT_CN = "imgcache-test-client";

  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(30);

  /** Writes the certificates and keys into {@code dir} (which must exist). Blocks ~0.1 s. */
  static EtcdTestCerts generate(Path dir) {
    String openssl = findOnPath("openssl");
    Path caKey = dir.resolve("ca-key.pem");
    Path ca = dir.resolve("ca.pem");
    openssl(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "2",
        "-subj", "/CN=imgcache-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    Path serverCert = dir.resolve("server.pem");
    Path serverKey = dir.resolve("server-key.pem");
    sign(openssl, dir, "server", "localhost", 2, ca, caKey, serverCert, serverKey,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            + "extendedKeyUsage=serverAuth,clientAuth\n"
            + "keyUsage=critical,digitalSignature\n");
    Path clientCert = dir.resolve("client.pem");
    Path clientKey = dir.resolve("client-key.pem");
    sign(openssl, dir, "client", CLIENT_CN, 3, ca, caKey, clientCert, clientKey,
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
    return new EtcdTestCerts(ca, serverCert, serverKey, clientCert, clientKey);
  }

  private static void sign(String openssl, Path dir, String name, String cn, int serial, Path ca,
      Path caKey, Path cert, Path key, String extensions) {
    Path csr = dir.resolve(name + ".csr");
    Path ext = dir.resolve(name + ".ext");
    try {
      Files.writeString(ext, extensions, UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
    openssl(openssl, "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(),
        "-CAkey", caKey.toString(), "-set_serial", Integer.toString(serial), "-days", "2",
        "-out", cert.toString(), "-extfile", ext.toString());
  }

  private static void openssl(String openssl, String... args) {
    List<String> command = new ArrayList<>();
    command.add(openssl);
    command.addAll(List.of(args));
    EtcdctlResult.run(command, Map.of(), OPENSSL_TIMEOUT).checkOk();
  }

  private static String findOnPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new IllegalStateException(program + " not found on PATH: install the Debian package openssl"
        + " (the TLS etcd tests make their certificates with it)");
  }
}
