package io.imgcache.disk;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.google.common.hash.Hashing;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.DiskTier;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk tier on the plain filesystem, as nginx's proxy_cache keeps it: one file per key, named
 * by the SHA-256 of the key under two levels of directories, and an in-memory index of what is
 * there (a Caffeine cache weighed by file size, so its admission and eviction policy bounds the
 * directory). The index is rebuilt at start by a background scan while the node serves: a read
 * that the index cannot answer yet opens the key's file directly, its name being its key's hash.
 *
 * <p>Files are written whole to a temporary name and renamed, so a crash (kill -9) leaves whole
 * files or temporary ones, which the scan deletes. Each file ends with a CRC32C of everything
 * before it; a file is checked the first time this process reads it, and a damaged, truncated or
 * foreign one is deleted and never served. Bodies are never copied through the Java heap.
 *
 * <p>Reads of checked files up to {@link StoredFile#MAP_ABOVE}: the most read ones ({@code
 * cache.disk.mapped-files}) are kept mapped, their heads decoded ({@link Mapped}). A hit on one
 * makes no system call but a residency check (mincore); its response lends a view of the mapping
 * ({@link CachedResponse#lent()}), which the socket write copies straight from the page cache, and
 * the mapping is unmapped only once the last such response is released ({@link MappedBody}). One
 * read in {@link #KEEP_EVERY} copies the body instead: an owned response, which the owner keeps in
 * memory. Other reads (first reads, which check the CRC; files not mapped; large files, whose body
 * is mapped per read) open the file and read it into direct memory.
 *
 * <p>Threads: one writer with a bounded queue (a full queue drops the write, counted: a slow disk
 * never slows serving) and two disk threads for reads, deletions and the scan. A read of a checked
 * file of at most {@link StoredFile#MAP_ABOVE} that this process read or wrote within the last
 * {@link #RESIDENT_NANOS 30 s} runs on the caller's thread instead: its pages are in the page
 * cache, the read is a copy (or, mapped, no read at all: a mapping whose pages are not all in
 * memory is read afresh there, which brings them back), and the two thread hops it saves were
 * half a disk hit's CPU; on a disk thread a mapping's pages are faulted in before its view is
 * lent, so that the IO thread writing it does not wait for the device. A read
 * there that takes longer than {@link #SLOW_READ_NANOS 1 ms} waited either for the CPU (preempted,
 * a GC pause: common on a host whose imgfit is busy) or for the device (the page cache let the
 * file go: memory pressure); the thread's own storage counter ({@code read_bytes} of Linux's
 * {@code /proc/thread-self/io}) tells which, and a device read sends every read to the disk
 * threads for {@link #PAUSE_NANOS 10 s} (counted, logged), so a caller on an IO thread waits for
 * the device at most now and then. Without the counter every slow read counts as one; the counter
 * lags (growth from an earlier fast device read is blamed on the next slow one: a pause too many),
 * and on filesystems without a block device (NFS, FUSE) it never grows: there reads of recently
 * used files stay on the callers' threads. Index changes happen on the disk threads, the writer,
 * a caller's read that finds its file gone or damaged, and a ban's caller. A read never returns
 * what a purge asked before it removed, though the removal itself is queued. A purge finds a key's
 * variants through a per-base index, without walking the whole index (every successful unsafe
 * request purges its target on every node); a write still queued when its key is purged is dropped.
 */
public final class FileStore implements DiskTier, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FileStore.class);
  private static final Pattern NAME = Pattern.compile("[0-9a-f]{64}");
  private static final String TMP_SUFFIX = ".tmp";
  private static final HexFormat HEX = HexFormat.of();

  private final Path dir;
  private final long maxBytes;
  private final Cache<String, Entry> index;
  private final ThreadPoolExecutor writer;
  private final ExecutorService io;
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong writeDrops = new AtomicLong();
  private final AtomicLong corrupt = new AtomicLong();
  private final AtomicLong scanned = new AtomicLong();
  private volatile boolean scanDone;
  // The indexed variant keys of each base key (the part before the first NUL), so that a purge,
  // which every successful unsafe request makes, removes them without walking the index. Changed
  // only through compute / computeIfPresent / remove per base; a key is noted after it is indexed
  // (indexed()), so every indexed variant is in its base's set for every purge that follows. A
  // key removed meanwhile may stay in a set: harmless, a purge then invalidates nothing.
  private final ConcurrentHashMap<String, Set<String>> variantsByBase = new ConcurrentHashMap<>();
  // When each key was last purged (clock), remembered PURGE_MEMORY_NANOS: a write asked
  // for before a purge of its key, and run after it, is dropped rather than bring the key back.
  private static final long PURGE_MEMORY_NANOS = TimeUnit.MINUTES.toNanos(1);
  private final Cache<String, Long> purges = Caffeine.newBuilder()
      .expireAfterWrite(PURGE_MEMORY_NANOS, TimeUnit.NANOSECONDS)
      .maximumSize(100_000)
      .executor(Runnable::run)
      .build();
  // Purges and bans given while the scan runs, for the files it has not indexed yet.
  private final Set<String> purgedWhileScanning = ConcurrentHashMap.newKeySet();
  private final List<String> bannedWhileScanning = new CopyOnWriteArrayList<>();

  /** A file read or written within this long is read on its caller's thread (see the class comment). */
  static final long RESIDENT_NANOS = TimeUnit.SECONDS.toNanos(30);
  /** A read on the caller's thread that took longer waited for the device. */
  static final long SLOW_READ_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How stale a file's last use may be recorded (see Entry). */
  private static final long USED_PRECISION_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** How long reads go to the disk threads after a read on a caller's thread went to the device. */
  static final long PAUSE_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * What the index knows of one file: its length, whether this process has checked its CRC, when
   * it was indexed (a purge since then hides it) and, for a checked file, when this process last
   * read or wrote it ({@link #clock}), which says whether the page cache likely still holds it.
   * {@code used} is written without coordination (any recent value does), and at most once a
   * second: hot keys' reads on several threads do not fight over it.
   */
  private static final class Entry {
    final long length;
    final boolean verified;
    final long indexedAt;
    volatile long used;
    volatile boolean removed; // left the index: its mapping (if any) is dropped
    int reads; // reads through its mapping; racy, approximate is enough

    /** {@code now}: the clock; a checked file was just written or read, an unchecked one's use is moot. */
    Entry(long length, boolean verified, long now) {
      this.length = length;
      this.verified = verified;
      this.indexedAt = now;
      this.used = now;
    }
  }

  /** The disk tier's figures, for metrics. */
  public record Figures(long maxBytes, long bytes, long entries, long hits, long misses, long evictions,
      long writes, long writeDrops, long corrupt, long scanned, boolean scanDone, long callerReads, long deviceCallerReads,
      long mappedFiles) {}

  /**
   * One read in this many of a mapped file hands over a body of its own (a copy), which the owner
   * keeps in memory (admission permitting); the others lend a view of the mapping: a key read
   * often from disk reaches memory after a few reads, the rest cost no copy and no allocation.
   * One in a few, not the second read only: the memory cache's admission weighs how often a key
   * is offered, so this passes on how often it is read.
   */
  static final int KEEP_EVERY = 8;

  /**
   * A checked file kept mapped: its status, headers and timing decoded, and its body mapped (the
   * descriptor is closed at once). A read of it makes no system call but the residency check: the
   * response lends a view of the mapping, which the socket write copies straight from the page
   * cache. At most {@code cache.disk.mapped-files} (and a quarter of vm.max_map_count), the most
   * read ones; unmapped when evicted from here or when its entry leaves the index (replaced,
   * purged, evicted, damaged) — at once, or when the last response lent from it is released.
   */
  private record Mapped(CachedResponse head, MappedBody body) {}

  private final Cache<Entry, Mapped> mapped;
  private final boolean mapping; // cache.disk.mapped-files > 0
  private final AtomicLong mappings = new AtomicLong(); // not yet unmapped, lent ones included
  private final AtomicLong evictions = new AtomicLong();
  private final AtomicLong callerReads = new AtomicLong();
  private final AtomicLong deviceCallerReads = new AtomicLong();
  private final LongSupplier clock; // System.nanoTime, or a test's
  private volatile long callerReadsPausedUntil;
  private final LongSupplier deviceReadBytes; // this thread's bytes fetched from storage so far; -1: unknown
  private final ThreadLocal<long[]> deviceReadBytesSeen;

  private FileStore(Path dir, long maxBytes, int writeQueue, int mappedFiles, LongSupplier clock,
      LongSupplier deviceReadBytes) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.mapping = mappedFiles > 0;
    this.mapped = Caffeine.newBuilder()
        .maximumSize(mappedFiles)
        .executor(Runnable::run)
        .removalListener((Entry e, Mapped file, RemovalCause cause) -> file.body().drop())
        .build();
    this.clock = clock;
    this.callerReadsPausedUntil = clock.getAsLong();
    this.deviceReadBytes = deviceReadBytes;
    this.deviceReadBytesSeen = ThreadLocal.withInitial(() -> new long[] {deviceReadBytes.getAsLong()});
    this.index = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((String key, Entry e) -> (int) Math.min(Integer.MAX_VALUE, e.length))
        .executor(Runnable::run) // evictions delete on the thread that changed the index: writer or IO
        .removalListener((String key, Entry e, RemovalCause cause) -> {
          if (e != null) {
            e.removed = true; // before the drop: a read that maps it after sees the flag (readMapped)
            mapped.invalidate(e);
          }
          if (key != null && cause != RemovalCause.REPLACED) {
            forgetVariant(key);
            if (cause.wasEvicted()) {
              evictions.incrementAndGet();
            }
            deleteQuietly(path(key));
          }
        })
        .build();
    this.writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(writeQueue),
        daemon("imgcache-disk-write"), (task, pool) -> writeDrops.incrementAndGet());
    this.io = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
        daemon("imgcache-disk-io"));
  }

  /**
   * Opens the store in {@code dir} (created if missing) and starts indexing what is there in the
   * background. Fails at once, naming the directory, when it cannot be created or written. {@code
   * mappedFiles}: files kept mapped for reads, at most; no more than a quarter of the process's
   * allowed mappings (vm.max_map_count) are used.
   */
  public static FileStore open(Path dir, long maxBytes, int writeQueue, int mappedFiles) {
    long limit = mappingLimit();
    int kept = (int) Math.min(mappedFiles, limit / 4);
    if (kept < mappedFiles) {
      log.info("disk cache: {} files kept mapped, not {}: vm.max_map_count is {}", kept, mappedFiles, limit);
    }
    return open(dir, maxBytes, writeQueue, kept, System::nanoTime, FileStore::threadDeviceReadBytes);
  }

  /** For tests: 1,024 files kept mapped, System.nanoTime, the threads' own storage counters. */
  static FileStore open(Path dir, long maxBytes, int writeQueue) {
    return open(dir, maxBytes, writeQueue, 1024, System::nanoTime, FileStore::threadDeviceReadBytes);
  }

  /**
   * {@code clock}: nanoseconds, as System.nanoTime; it times reads and says how recent a file's use
   * is. {@code deviceReadBytes}: the calling thread's bytes fetched from storage so far, or -1.
   */
  static FileStore open(Path dir, long maxBytes, int writeQueue, int mappedFiles, LongSupplier clock,
      LongSupplier deviceReadBytes) {
    try {
      Files.createDirectories(dir);
      Path probe = Files.createTempFile(dir, "probe", TMP_SUFFIX);
      Files.delete(probe);
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalStateException("cannot write the disk cache directory " + dir + ": " + e, e);
    }
    FileStore store = new FileStore(dir, maxBytes, writeQueue, mappedFiles, clock, deviceReadBytes);
    store.io.execute(store::scan);
    return store;
  }

  @Override
  public boolean enabled() {
    return true;
  }

  // ---- reads ---------------------------------------------------------------------------------

  @Override
  public CompletableFuture<CachedResponse> read(String key) {
    Entry known = index.getIfPresent(key);
    if (known == null && scanDone) {
      misses.incrementAndGet();
      return CompletableFuture.completedFuture(null); // not on disk: no thread hop
    }
    if (known != null) {
      if (purgedSince(key, known.indexedAt)) {
        // Purged since it was indexed; its removal is queued behind the purge. A read on the
        // caller's thread does not wait in that queue, and must not bring the response back.
        misses.incrementAndGet();
        return CompletableFuture.completedFuture(null);
      }
      long now = clock.getAsLong();
      if (inPageCache(known, now)) {
        return CompletableFuture.completedFuture(readHere(key, known, now));
      }
    }
    CompletableFuture<CachedResponse> result = new CompletableFuture<>();
    try {
      io.execute(() -> result.complete(readNow(key, known, false)));
    } catch (RejectedExecutionException e) {
      result.complete(null); // closed
    }
    return result;
  }

  /**
   * Whether a read of {@code entry} is a copy out of the page cache: a checked file, read whole,
   * used recently, and no read on a caller's thread waited for the device lately.
   */
  private boolean inPageCache(Entry entry, long now) {
    return entry.verified && StoredFile.readWhole(entry.length) && now - entry.used < RESIDENT_NANOS
        && now - callerReadsPausedUntil >= 0;
  }

  /**
   * Reads on the caller's thread, timed from {@code start}: one that went to the device sends reads
   * to the disk threads for a while.
   */
  private CachedResponse readHere(String key, Entry known, long start) {
    long[] seen = deviceReadBytesSeen.get(); // this thread's storage counter at its last look
    CachedResponse response = readNow(key, known, true);
    long end = clock.getAsLong();
    callerReads.incrementAndGet();
    if (end - start > SLOW_READ_NANOS) {
      long now = deviceReadBytes.getAsLong(); // looked at only when slow: a file read of its own
      boolean device = now < 0 || seen[0] < 0 || now > seen[0];
      seen[0] = now;
      if (device) {
        deviceCallerReads.incrementAndGet();
        callerReadsPausedUntil = end + PAUSE_NANOS;
        log.info("disk cache: a read of a recently used file went to the device ({} us; memory pressure?):"
            + " reads go to the disk threads for {} s", TimeUnit.NANOSECONDS.toMicros(end - start),
            TimeUnit.NANOSECONDS.toSeconds(PAUSE_NANOS));
      }
    }
    return response;
  }

  /** Linux's limit on a process's memory mappings, or its default where it cannot be read. */
  private static long mappingLimit() {
    try {
      // Not Files.readString: /proc files claim a size of 0, and it read one byte of "65530".
      return Long.parseLong(Files.readAllLines(Path.of("/proc/sys/vm/max_map_count")).get(0).trim());
    } catch (IOException | RuntimeException e) {
      return 65_530;
    }
  }

  private static final Path THREAD_IO = Path.of("/proc/thread-self/io");

  /** The calling thread's {@code read_bytes} (Linux: bytes it had fetched from storage), or -1. */
  static long threadDeviceReadBytes() {
    try {
      for (String line : Files.readAllLines(THREAD_IO)) {
        if (line.startsWith("read_bytes:")) {
          return Long.parseLong(line.substring("read_bytes:".length()).trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or no task IO accounting: every slow read counts as a device read
    }
    return -1;
  }

  /**
   * {@code known}: what the index said when the read was asked for (null: not indexed yet);
   * {@code here}: on the caller's thread, else a disk thread.
   */
  private CachedResponse readNow(String key, Entry known, boolean here) {
    if (known != null && known.verified && mapping && StoredFile.readWhole(known.length)) {
      CachedResponse read = readMapped(key, known, here);
      if (read != null) {
        return read;
      }
    }
    Path path = path(key);
    try (FileChannel channel = FileChannel.open(path)) {
      boolean verify = known == null || !known.verified;
      StoredFile.Loaded file = StoredFile.read(channel, verify);
      if (!file.key().equals(key)) {
        throw new StoredFile.DamagedException("holds key " + file.key());
      }
      if (verify) {
        indexed(key, new Entry(file.fileLength(), true, clock.getAsLong()));
      } else {
        used(known);
      }
      hits.incrementAndGet();
      return file.response();
    } catch (java.nio.file.NoSuchFileException e) {
      if (known != null) {
        index.asMap().remove(key, known); // not a newer write's entry
      }
    } catch (StoredFile.DamagedException e) {
      corrupt.incrementAndGet();
      log.warn("disk cache: dropping damaged file {}: {}", path, e.getMessage());
      index.invalidate(key);
      deleteQuietly(path);
    } catch (IOException e) {
      log.warn("disk cache: cannot read {}: {}", path, e.toString());
    }
    misses.incrementAndGet();
    return null;
  }

  /**
   * A checked file's read through its mapping (mapped here if need be); null when that failed —
   * unmapped meanwhile, gone, damaged, unreadable, no mapping to be had — or when, {@code here} on
   * a caller's thread, its pages are not all in memory: the caller then reads the file afresh,
   * which deals with each case (and a read brings the pages back). On a disk thread the pages are
   * faulted in here, so that the IO thread that writes the response does not wait for the device.
   */
  private CachedResponse readMapped(String key, Entry known, boolean here) {
    Mapped file;
    try {
      file = mapped.get(known, e -> map(key));
    } catch (UncheckedIOException e) {
      return null;
    }
    MappedBody body = file.body();
    Runnable lease = body.lend();
    if (known.removed) {
      mapped.invalidate(known); // mapped after its entry left the index: dropped here, not kept
    }
    if (lease == null) {
      return null; // unmapped under us
    }
    if (here && !body.resident()) {
      lease.run();
      return null;
    }
    if (!here) {
      body.load();
    }
    used(known);
    hits.incrementAndGet();
    CachedResponse lent = file.head().withBody(body.view(), lease);
    return ++known.reads % KEEP_EVERY == 0 ? lent.owned() : lent;
  }

  private Mapped map(String key) {
    try (FileChannel channel = FileChannel.open(path(key))) {
      StoredFile.Header header = StoredFile.readHeader(channel);
      if (!header.key().equals(key) || !StoredFile.readWhole(header.fileLength())) {
        throw new StoredFile.DamagedException("not the file indexed");
      }
      MappedByteBuffer body = channel.map(FileChannel.MapMode.READ_ONLY, header.bodyOffset(), header.bodyLength());
      return new Mapped(StoredFile.head(header), new MappedBody(body, mappings));
    } catch (IOException e) { // including no mapping to be had (vm.max_map_count)
      throw new UncheckedIOException(e);
    }
  }

  /** Records a read of {@code entry} now, at most once a second (see Entry). */
  private void used(Entry entry) {
    long now = clock.getAsLong();
    if (now - entry.used > USED_PRECISION_NANOS) {
      entry.used = now;
    }
  }

  // ---- writes --------------------------------------------------------------------------------

  @Override
  public void write(String key, CachedResponse response) {
    if (response.bodyLength() > maxBytes / 2) {
      return;
    }
    try {
      long queued = clock.getAsLong();
      writer.execute(() -> writeNow(key, response, queued));
    } catch (RejectedExecutionException e) {
      writeDrops.incrementAndGet(); // closed
    }
  }

  /** {@code queued}: when the write was asked for (clock). */
  private void writeNow(String key, CachedResponse response, long queued) {
    if (clock.getAsLong() - queued > PURGE_MEMORY_NANOS) {
      writeDrops.incrementAndGet(); // waited longer than purges are remembered: it may predate one
      return;
    }
    Path path = path(key);
    Path tmp = path.resolveSibling(path.getFileName() + TMP_SUFFIX);
    try {
      Files.createDirectories(path.getParent());
      long length = StoredFile.write(tmp, key, response);
      if (purgedSince(key, queued)) {
        deleteQuietly(tmp); // the response predates a purge of its key: it must not come back
        return;
      }
      Files.move(tmp, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      indexed(key, new Entry(length, true, clock.getAsLong())); // its pages are in the page cache
      if (purgedSince(key, queued)) {
        // A purge between the check and the rename: its own removal may have run before the
        // rename, so remove the file here. (A purge recorded after this check runs its removal
        // after the rename, which it then finds.)
        index.invalidate(key);
        deleteQuietly(path);
        return;
      }
      writes.incrementAndGet();
    } catch (IOException | UncheckedIOException e) {
      writeDrops.incrementAndGet(); // a full or failing disk: the memory copy stands
      log.debug("disk cache: write of {} dropped: {}", key, e.toString());
      deleteQuietly(tmp);
    }
  }

  // ---- removal -------------------------------------------------------------------------------

  @Override
  public void invalidate(String key) {
    purges.put(key, clock.getAsLong()); // before the removal below: writes queued earlier check it
    if (!scanDone) {
      purgedWhileScanning.add(key);
    }
    try {
      io.execute(() -> {
        index.invalidate(key);
        deleteQuietly(path(key)); // indexed or not
        Set<String> variants = variantsByBase.remove(key);
        if (variants != null) {
          variants.forEach(index::invalidate); // their files go with them (the removal listener)
        }
      });
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  @Override
  public int ban(String prefix) {
    if (!scanDone) {
      bannedWhileScanning.add(prefix);
    }
    int[] removed = {0};
    index.asMap().keySet().removeIf(k -> {
      boolean match = k.startsWith(prefix);
      removed[0] += match ? 1 : 0;
      return match;
    });
    return removed[0];
  }

  // ---- the start-up scan ---------------------------------------------------------------------

  /** Indexes every whole file of ours, deletes temporary and damaged ones, leaves foreign names alone. */
  private void scan() {
    long start = System.nanoTime();
    try (Stream<Path> files = Files.walk(dir, 3)) {
      files.filter(Files::isRegularFile).forEach(this::scanOne);
    } catch (IOException | UncheckedIOException e) {
      log.warn("disk cache: scan of {} stopped early: {}", dir, e.toString());
    }
    scanDone = true;
    purgedWhileScanning.clear();
    bannedWhileScanning.clear();
    log.info("disk cache: {} files indexed in {} ms ({} bytes)", index.estimatedSize(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), bytes());
  }

  private void scanOne(Path file) {
    String name = file.getFileName().toString();
    if (name.endsWith(TMP_SUFFIX)) {
      deleteQuietly(file); // a write cut short (crash, full disk)
      return;
    }
    if (!NAME.matcher(name).matches()) {
      return; // not ours
    }
    try (FileChannel channel = FileChannel.open(file)) {
      StoredFile.Header header = StoredFile.readHeader(channel);
      String key = header.key();
      if (!path(key).equals(file)) {
        throw new StoredFile.DamagedException("named for another key");
      }
      if (purgedWhileScanning.contains(key) || purgedWhileScanning.contains(base(key))
          || bannedWhileScanning.stream().anyMatch(key::startsWith)) {
        deleteQuietly(file);
        return;
      }
      index.asMap().putIfAbsent(key, new Entry(header.fileLength(), false, clock.getAsLong())); // a write since start wins
      noteVariant(key); // after indexing, as indexed() does
      scanned.incrementAndGet();
    } catch (StoredFile.DamagedException e) {
      corrupt.incrementAndGet();
      log.warn("disk cache: dropping damaged file {}: {}", file, e.getMessage());
      deleteQuietly(file);
    } catch (IOException e) {
      log.warn("disk cache: cannot index {}: {}", file, e.toString());
    }
  }

  /**
   * Indexes {@code key}, then notes it as a variant of its base: in this order, a purge that
   * takes the base's set in between misses only a key it did not find indexed, and the next purge
   * finds it (noted first, a purge could take the set, find the key not indexed yet, and leave it
   * in no set at all, out of reach of every later purge).
   */
  private void indexed(String key, Entry entry) {
    index.put(key, entry);
    noteVariant(key);
  }

  // Changed atomically per base key (compute): a variant noted while its set is dropped is kept.
  private void noteVariant(String key) {
    String base = base(key);
    if (base != key) { // a variant key
      variantsByBase.compute(base, (b, set) -> {
        Set<String> variants = set == null ? ConcurrentHashMap.newKeySet() : set;
        variants.add(key);
        return variants;
      });
    }
  }

  private void forgetVariant(String key) {
    String base = base(key);
    if (base != key) { // a variant key
      variantsByBase.computeIfPresent(base, (b, set) -> {
        set.remove(key);
        return set.isEmpty() ? null : set;
      });
    }
  }

  private boolean purgedSince(String key, long queued) {
    Long purged = purges.getIfPresent(base(key));
    return purged != null && purged - queued >= 0;
  }

  /** {@code key} up to its first NUL: the base key of a variant key, the key itself (same instance) otherwise. */
  private static String base(String key) {
    int nul = key.indexOf('\0');
    return nul < 0 ? key : key.substring(0, nul);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Whether the index holds {@code key} (tests: a write is whole once its file is renamed and indexed). */
  boolean indexed(String key) {
    return index.getIfPresent(key) != null;
  }

  /** {@code dir/ab/cd/abcd...}: the file of {@code key}. */
  Path path(String key) {
    String hash = HEX.formatHex(Hashing.sha256().hashString(key, StandardCharsets.UTF_8).asBytes());
    return dir.resolve(hash.substring(0, 2) + '/' + hash.substring(2, 4) + '/' + hash); // one resolve: on every read
  }

  private static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      log.debug("disk cache: cannot delete {}: {}", path, e.toString());
    }
  }

  private long bytes() {
    return index.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }

  public Figures figures() {
    return new Figures(maxBytes, bytes(), index.estimatedSize(), hits.get(), misses.get(), evictions.get(),
        writes.get(), writeDrops.get(), corrupt.get(), scanned.get(), scanDone, callerReads.get(),
        deviceCallerReads.get(), mappings.get());
  }

  /** Whether the start-up scan has indexed the whole directory. */
  public boolean scanDone() {
    return scanDone;
  }

  /** Lets queued writes finish (briefly), then stops the threads. Files stay: they are the point. */
  @Override
  public void close() {
    writer.shutdown();
    io.shutdown();
    try {
      if (!writer.awaitTermination(2, TimeUnit.SECONDS)) {
        writer.shutdownNow();
      }
      if (!io.awaitTermination(2, TimeUnit.SECONDS)) {
        io.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      writer.shutdownNow();
      io.shutdownNow();
    }
    mapped.invalidateAll(); // unmapped now, or as their lent responses are released
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return new ThreadFactoryBuilder().setNameFormat(name).setDaemon(true).build();
  }
}
