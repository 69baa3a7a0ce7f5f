package io.imgcache;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The build's version and commit, from the {@code version.properties} the build filters. */
final class Version {
  private Version() {}

  /** E.g. {@code 0.1.0 (commit 0123abcdef)}; "unknown" for what the build did not say. */
  static String describe() {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // Reported as unknown below.
    }
    String commit = p.getProperty("commit", "unknown");
    // Built outside a git checkout, the placeholder stays unfiltered.
    return p.getProperty("version", "unknown") + " (commit " + (commit.startsWith("${") ? "unknown" : commit) + ")";
  }
}
