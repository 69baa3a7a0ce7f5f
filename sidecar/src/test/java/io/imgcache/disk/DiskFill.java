package io.imgcache.disk;

import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;

/**
 * Fills a disk tier directory with N entries of S bytes as a node would have written them, for
 * {@code bench/disk-restart} (restart to serving on a large disk). Keys are {@code
 * /v2/blob/fill-<i>?size=<S>}. Not a test.
 */
public final class DiskFill {
  private DiskFill() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int count = Integer.parseInt(args[1]);
    int size = Integer.parseInt(args[2]);
    byte[] body = new byte[size];
    new Random(1).nextBytes(body);
    CachedResponse response = CachePolicy.builder().build()
        .response(200, List.of("Content-Type", "application/octet-stream"), body);
    FileStore layout = FileStore.open(dir, Long.MAX_VALUE / 4, 1);
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      String key = "/v2/blob/fill-" + i + "?size=" + size;
      Path path = layout.path(key);
      Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
      Files.createDirectories(path.getParent());
      StoredFile.write(tmp, key, response);
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      if ((i + 1) % 10_000 == 0) {
        System.out.printf("disk-fill: %,d of %,d entries (%.0f s)%n", i + 1, count, (System.nanoTime() - start) / 1e9);
      }
    }
    layout.close();
    System.out.printf("disk-fill: %,d entries of %,d bytes in %s in %.0f s%n", count, size, dir,
        (System.nanoTime() - start) / 1e9);
  }
}
