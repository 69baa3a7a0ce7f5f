package io.imgcache.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The disk tier's files (issue 13): written whole and read back equal, found again by a new store
 * on the same directory (a restart) before and after its scan, damaged / truncated / foreign /
 * half-written files dropped and never served, purge and ban, and the directory's bound.
 */
class FileStoreTest {
  private static final CachePolicy POLICY = CachePolicy.builder().build();

  @TempDir
  Path dir;
  private final List<FileStore> stores = new ArrayList<>();

  @AfterEach
  void close() {
    stores.forEach(FileStore::close);
  }

  private FileStore open(long maxBytes) {
    FileStore store = FileStore.open(dir, maxBytes, 1024);
    stores.add(store);
    return store;
  }

  private static CachedResponse response(long seed, int size) {
    byte[] body = new byte[size];
    new Random(seed).nextBytes(body);
    return POLICY.response(200, List.of("Content-Type", "image/png", "ETag", "\"" + seed + "\"",
        "Cache-Control", "max-age=3600"), body);
  }

  private static CachedResponse read(FileStore store, String key) throws Exception {
    return store.read(key).get(10, TimeUnit.SECONDS);
  }

  /**
   * Waits until {@code key}'s write is done: its file renamed into place and indexed (writes go
   * behind the caller; the index is updated just after the rename, and a read before it misses).
   */
  private static void awaitWritten(FileStore store, String key) {
    await("the write of " + key, () -> Files.exists(store.path(key)) && store.indexed(key));
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** 20 KB bodies are read into direct memory, 300 KB ones mapped (StoredFile.MAP_ABOVE). */
  @ParameterizedTest
  @ValueSource(ints = {20_000, 300_000})
  void aWrittenResponseReadsBackEqual(int size) throws Exception {
    FileStore store = open(64 << 20);
    await("the start-up scan", store::scanDone);
    CachedResponse written = response(1, size);
    store.write("/v2/image/png/1?w=10", written);
    awaitWritten(store, "/v2/image/png/1?w=10");

    CachedResponse read = read(store, "/v2/image/png/1?w=10");

    assertNotNull(read);
    assertEquals(200, read.status());
    assertEquals("image/png", read.header("Content-Type"));
    assertEquals("\"1\"", read.etag());
    assertArrayEquals(written.bodyBytes(), read.bodyBytes());
    assertEquals(written.lifetimeMillis(), read.lifetimeMillis());
    assertEquals(written.requestTime(), read.requestTime());
    assertEquals(written.ageMillis(POLICY.now()) / 1000, read.ageMillis(POLICY.now()) / 1000);
    assertEquals(written.storable(), read.storable());
    assertTrue(read.body().isDirect(), "the body is the mapped file, not a heap copy");
    assertNull(read(store, "/v2/image/png/none"), "an absent key");
  }

  /**
   * A file this store wrote or read lately is read on the caller's thread (the future is complete
   * on return), one not used for 30 s on a disk thread; a slow read there that went to the device
   * (the thread's storage counter grew) sends every read to a disk thread for 10 s, a slow one that
   * did not (preempted) changes nothing. Clock and counter are the test's ({@code step} is added
   * at each reading of the clock: a read on the caller's thread is timed by two readings).
   */
  @Test
  void recentlyUsedFilesAreReadOnTheCallersThreadUntilOneThereGoesToTheDevice() throws Exception {
    AtomicLong now = new AtomicLong(1_000_000_000L);
    AtomicLong step = new AtomicLong();
    AtomicLong deviceBytes = new AtomicLong();
    FileStore store = FileStore.open(dir, 64 << 20, 1024, 1024, () -> now.addAndGet(step.get()), deviceBytes::get);
    stores.add(store);
    await("the start-up scan", store::scanDone);
    store.write("/a", response(1, 20_000));
    store.write("/b", response(2, 20_000));
    awaitWritten(store, "/a");
    awaitWritten(store, "/b");
    byte[] a = response(1, 20_000).bodyBytes();

    assertTrue(store.read("/a").isDone(), "just written: read on the caller's thread");
    assertEquals(1, store.figures().callerReads());
    step.set(FileStore.SLOW_READ_NANOS + 1);
    assertArrayEquals(a, store.read("/a").get().bodyBytes()); // slow, the counter unchanged: preempted
    step.set(0);
    assertTrue(store.read("/b").isDone(), "a slow read that stayed in the page cache changes nothing");
    assertEquals(3, store.figures().callerReads());
    assertEquals(0, store.figures().deviceCallerReads());

    step.set(FileStore.SLOW_READ_NANOS + 1);
    deviceBytes.addAndGet(20_480);
    assertArrayEquals(a, store.read("/a").get().bodyBytes()); // slow, and the device was read
    step.set(0);
    assertEquals(4, store.figures().callerReads());
    assertEquals(1, store.figures().deviceCallerReads());
    assertArrayEquals(response(2, 20_000).bodyBytes(), read(store, "/b").bodyBytes());
    assertEquals(4, store.figures().callerReads(), "after a device read: every read on a disk thread");

    now.addAndGet(FileStore.PAUSE_NANOS);
    assertTrue(store.read("/b").isDone(), "10 s later: on the caller's thread again");
    assertEquals(5, store.figures().callerReads());
    now.addAndGet(FileStore.RESIDENT_NANOS);
    assertArrayEquals(a, read(store, "/a").bodyBytes());
    assertEquals(5, store.figures().callerReads(), "not used for 30 s: read on a disk thread");
  }

  /**
   * A purge's removal is queued on the disk threads, but a read right after it — on the caller's
   * thread, which does not wait in that queue — finds nothing, variants included.
   */
  @Test
  void aReadRightAfterAPurgeFindsNothingEvenOnTheCallersThread() throws Exception {
    FileStore store = open(64 << 20);
    await("the start-up scan", store::scanDone);
    for (int i = 0; i < 20; i++) {
      String base = "/p" + i;
      store.write(base, response(i, 20_000));
      store.write(base + "\0accept=image/webp", response(i + 100, 20_000));
      awaitWritten(store, base);
      awaitWritten(store, base + "\0accept=image/webp");
    }
    for (int i = 0; i < 20; i++) {
      String base = "/p" + i;
      assertTrue(store.read(base).isDone(), "recently written: read on the caller's thread");
      store.invalidate(base);
      assertNull(store.read(base).getNow(response(0, 1)), "purged: " + base);
      assertNull(store.read(base + "\0accept=image/webp").getNow(response(0, 1)), "purged with its base: " + base);
    }
  }

  /** This machine's kernel gives each thread its storage counter, which tells device reads from preemption. */
  @Test
  void theThreadsStorageCounterIsReadable() {
    assertTrue(FileStore.threadDeviceReadBytes() >= 0,
        "/proc/thread-self/io has no read_bytes here: slow reads on IO threads would all count as device reads");
  }

  @Test
  void aNewStoreOnTheSameDirectoryServesWhatTheOldOneWrote() throws Exception {
    FileStore first = open(64 << 20);
    for (int i = 0; i < 50; i++) {
      first.write("/v2/image/png/" + i, response(i, 1000 + i));
    }
    await("50 writes", () -> first.figures().writes() == 50);
    first.close();

    FileStore restarted = open(64 << 20); // reads work at once, the index comes behind
    assertArrayEquals(response(7, 1007).bodyBytes(), read(restarted, "/v2/image/png/7").bodyBytes());
    await("the scan", restarted::scanDone);
    assertEquals(50, restarted.figures().entries());
    assertArrayEquals(response(42, 1042).bodyBytes(), read(restarted, "/v2/image/png/42").bodyBytes());
  }

  @Test
  void damagedTruncatedAndForeignFilesAreDroppedAndNeverServed() throws Exception {
    FileStore first = open(64 << 20);
    for (String key : List.of("/flipped", "/truncated", "/whole")) {
      first.write(key, response(key.length(), 5000));
      awaitWritten(first, key);
    }
    Path flipped = first.path("/flipped");
    byte[] bytes = Files.readAllBytes(flipped);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(flipped, bytes);
    Path truncated = first.path("/truncated");
    Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(truncated), 3000));
    Path foreign = first.path("/foreign");
    Files.createDirectories(foreign.getParent());
    Files.write(foreign, "not ours at all".getBytes(StandardCharsets.US_ASCII));
    Path halfWritten = first.path("/half").resolveSibling(first.path("/half").getFileName() + ".tmp");
    Files.createDirectories(halfWritten.getParent());
    Files.write(halfWritten, new byte[100]);
    Path unrelated = dir.resolve("README.txt");
    Files.writeString(unrelated, "an operator's note");
    first.close();

    FileStore store = open(64 << 20);
    assertNull(read(store, "/flipped"), "a flipped byte fails the checksum");
    await("the scan", store::scanDone);
    assertNull(read(store, "/truncated"));
    assertNull(read(store, "/foreign"));
    assertNotNull(read(store, "/whole"));
    assertFalse(Files.exists(flipped), "damaged: deleted");
    assertFalse(Files.exists(truncated), "truncated: deleted");
    assertFalse(Files.exists(foreign), "foreign under our name: deleted");
    assertFalse(Files.exists(halfWritten), "a write cut short: deleted");
    assertTrue(Files.exists(unrelated), "files not named like ours are left alone");
    assertTrue(store.figures().corrupt() >= 3, "counted: " + store.figures());
  }

  @Test
  void aDamagedLargeBodyIsCaughtToo() throws Exception {
    FileStore first = open(64 << 20);
    first.write("/large", response(5, 400_000));
    awaitWritten(first, "/large");
    Path file = first.path("/large");
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 100] ^= 0x01;
    Files.write(file, bytes);
    first.close();
    FileStore store = open(64 << 20);
    assertNull(read(store, "/large"));
    assertFalse(Files.exists(file));
  }

  @Test
  void invalidateRemovesAKeyAndItsVariantsAndBanRemovesAPrefix() throws Exception {
    FileStore store = open(64 << 20);
    await("the scan", store::scanDone);
    List<String> keys = List.of("/a?w=1", "/a?w=1\0accept=image/webp", "/a?w=10", "/b?w=1");
    for (String key : keys) {
      store.write(key, response(key.hashCode(), 100));
      awaitWritten(store, key);
    }
    store.invalidate("/a?w=1");
    await("the purge", () -> !Files.exists(store.path("/a?w=1\0accept=image/webp")));
    assertFalse(Files.exists(store.path("/a?w=1")));
    assertTrue(Files.exists(store.path("/a?w=10")), "another key with the same start stays");

    assertEquals(1, store.ban("/a"));
    assertFalse(Files.exists(store.path("/a?w=10")));
    assertNotNull(read(store, "/b?w=1"));
  }

  /**
   * A write queued before a purge of its key and run after it (the writer works through a queue,
   * the purge on another thread) must not bring the purged response back to disk. Writes of 1 MB
   * ahead of it keep the writer busy while the purge runs.
   */
  @Test
  void aWriteQueuedBeforeAPurgeOfItsKeyNeverLandsAfterIt() throws Exception {
    FileStore store = open(512 << 20);
    await("the scan", store::scanDone);
    for (int i = 0; i < 40; i++) {
      store.write("/ahead/" + i, response(i, 1 << 20));
    }
    store.write("/purged?w=1", response(1, 100));
    store.write("/purged?w=1\0accept=image/webp", response(2, 100));
    store.invalidate("/purged?w=1");
    store.write("/after", response(3, 100)); // the writer is past the purged key's writes once this is there
    awaitWritten(store, "/after");

    assertFalse(Files.exists(store.path("/purged?w=1")), "the purged key's queued write landed");
    assertFalse(Files.exists(store.path("/purged?w=1\0accept=image/webp")), "its variant's queued write landed");
    assertNull(read(store, "/purged?w=1"));
    store.write("/purged?w=1", response(4, 100));
    awaitWritten(store, "/purged?w=1"); // a write asked for after the purge lands
  }

  /** A purge finds the variants a store indexed at start (its scan), not only those it wrote. */
  @Test
  void invalidateRemovesTheVariantsARestartedStoreFoundOnDisk() throws Exception {
    FileStore first = open(64 << 20);
    List<String> keys = List.of("/v?w=1\0accept=image/webp", "/v?w=1\0accept=image/avif", "/v?w=2\0accept=image/webp");
    for (String key : keys) {
      first.write(key, response(key.hashCode(), 100));
      awaitWritten(first, key);
    }
    first.close();
    FileStore second = open(64 << 20);
    await("the scan", second::scanDone);

    second.invalidate("/v?w=1");

    await("the purge", () -> !Files.exists(second.path(keys.get(0))) && !Files.exists(second.path(keys.get(1))));
    assertNull(read(second, keys.get(0)));
    assertNotNull(read(second, keys.get(2)), "the variant of another key stays");
  }

  /**
   * A checked file is read through a mapping kept for it: most reads lend a view of it, one in
   * {@link FileStore#KEEP_EVERY} hands over a copy of its own; every read returns the file's bytes.
   * A purge drops the mapping, but it is unmapped only once the last lent response is released.
   */
  @Test
  void readsOfACheckedFileLendTheMappingWhichOutlivesAPurgeUntilReleased() throws Exception {
    FileStore store = open(64 << 20);
    await("the start-up scan", store::scanDone);
    CachedResponse written = response(7, 20_000);
    store.write("/lent", written);
    awaitWritten(store, "/lent");

    int owned = 0;
    for (int i = 0; i < 4 * FileStore.KEEP_EVERY; i++) {
      CachedResponse read = read(store, "/lent");
      assertArrayEquals(written.bodyBytes(), read.bodyBytes(), "read " + i);
      assertEquals(written.contentLength(), read.contentLength());
      owned += read.lent() ? 0 : 1;
      read.release();
    }
    assertEquals(4, owned, "one read in " + FileStore.KEEP_EVERY + " owns its body");
    assertEquals(1, store.figures().mappedFiles(), "one mapping, kept");

    CachedResponse outstanding = read(store, "/lent");
    assertTrue(outstanding.lent());
    assertThrows(IllegalStateException.class, outstanding::offHeap, "a lent body is never kept");
    CachedResponse copy = read(store, "/lent").owned();
    store.invalidate("/lent");
    await("the purge", () -> !store.indexed("/lent"));
    assertNull(read(store, "/lent"));
    assertEquals(1, store.figures().mappedFiles(), "still mapped: a response lent from it is being sent");
    assertArrayEquals(written.bodyBytes(), outstanding.bodyBytes(), "readable until released");
    outstanding.release();
    outstanding.release(); // twice: the second does nothing
    // The purge's removal drops the index's hold just after the index entry goes: awaited.
    await("the unmapping", () -> store.figures().mappedFiles() == 0);
    assertArrayEquals(written.bodyBytes(), copy.bodyBytes(), "an owned copy outlives the mapping");
  }

  /** A new write of a key replaces its mapping: reads see the new file, the old one is unmapped. */
  @Test
  void aRewriteUnmapsTheOldFile() throws Exception {
    FileStore store = open(64 << 20);
    await("the start-up scan", store::scanDone);
    store.write("/rewritten", response(1, 20_000));
    awaitWritten(store, "/rewritten");
    read(store, "/rewritten").release();
    assertEquals(1, store.figures().mappedFiles());

    CachedResponse second = response(3, 30_000);
    store.write("/rewritten", second);
    await("the rewrite", () -> store.figures().writes() == 2);
    assertEquals(0, store.figures().mappedFiles(), "the old file's mapping is gone");

    CachedResponse read = read(store, "/rewritten");
    assertArrayEquals(second.bodyBytes(), read.bodyBytes(), "the new file, not the one mapped before");
    assertEquals("30000", read.contentLength());
    read.release();
    assertEquals(1, store.figures().mappedFiles());
  }

  @Test
  void theDirectoryStaysWithinItsBoundUnderChurn() throws Exception {
    long max = 4L << 20;
    FileStore store = open(max);
    for (int i = 0; i < 600; i++) {
      store.write("/churn/" + i, response(i, 20_000)); // 12 MB through a 4 MiB bound
      if (i % 100 == 99) {
        int done = i + 1;
        await("writes", () -> store.figures().writes() + store.figures().writeDrops() >= done);
        assertTrue(directoryBytes() <= max * 105 / 100 + (4 << 20), directoryBytes() + " bytes on disk");
      }
    }
    long bytes = directoryBytes();
    assertTrue(bytes <= max * 105 / 100 + (4 << 20), bytes + " bytes on disk");
    assertTrue(store.figures().bytes() <= max, store.figures().toString());
    assertTrue(store.figures().evictions() > 0);
  }

  /**
   * A full disk (a 1 MiB tmpfs under a 64 MiB bound): writes that do not fit are dropped and
   * counted, leave no partial file, and what was written whole is still served. Mounting needs root
   * (as the fault suite does): the test fails, not skips, without it.
   */
  @Test
  void aFullDiskDropsWritesAndKeepsServingWhatItHas() throws Exception {
    Path mount = Files.createDirectory(dir.resolve("tmpfs"));
    run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString());
    try {
      FileStore store = FileStore.open(mount, 64 << 20, 1024);
      stores.add(store);
      for (int i = 0; i < 100; i++) {
        store.write("/full/" + i, response(i, 20_000)); // 2 MB into 1 MiB
      }
      await("all writes done or dropped", () -> store.figures().writes() + store.figures().writeDrops() == 100);
      assertTrue(store.figures().writeDrops() > 0, store.figures().toString());
      assertTrue(store.figures().writes() > 0, store.figures().toString());
      try (Stream<Path> files = Files.walk(mount)) {
        assertEquals(0, files.filter(p -> p.toString().endsWith(".tmp")).count(), "no partial file left");
      }
      assertArrayEquals(response(0, 20_000).bodyBytes(), read(store, "/full/0").bodyBytes());
      store.close();
    } finally {
      run("umount", "--lazy", mount.toString()); // a mapped body may still hold it until collected
    }
  }

  @Test
  void aDirectoryThatCannotBeWrittenIsRefusedAtOnceNamingIt() throws IOException {
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> FileStore.open(file.resolve("cache"), 1 << 20, 16));
    assertTrue(e.getMessage().contains(file.resolve("cache").toString()), e.getMessage());
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new AssertionError(String.join(" ", command) + " failed (this test needs root, like chaos/run): "
          + output.strip());
    }
  }

  private long directoryBytes() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

}
