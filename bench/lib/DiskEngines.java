import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.rocksdb.CompressionType;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * Issue 13: the disk tier's storage, measured both ways on the same entries — one file per entry
 * under a hashed name with an in-memory index (what disk.FileStore does, as nginx's proxy_cache
 * does) and RocksDB with its blob files (values in blob files, keys in the LSM tree). Per
 * engine: write throughput, a warm read (page cache hot; the engine's work and its syscalls, the
 * same for both: the stored bytes into direct memory), and the time from opening the store with N
 * entries to its first and to all reads. Run by bench/disk-engines; prints a Markdown table.
 */
public final class DiskEngines {
  private static final HexFormat HEX = HexFormat.of();

  public static void main(String[] args) throws Exception {
    int entries = Integer.parseInt(args[0]);
    int size = Integer.parseInt(args[1]);
    Path root = Path.of(args[2]);
    byte[][] keys = new byte[entries][];
    for (int i = 0; i < entries; i++) {
      keys[i] = ("/v2/image/png/" + i + "?w=850&h=200&type=.webp").getBytes();
    }
    byte[] value = new byte[size];
    new Random(13).nextBytes(value);
    RocksDB.loadLibrary();
    System.out.println("| engine | " + entries + " entries of " + size / 1024 + " KiB: write | warm read (µs, median of 5 passes) | open → all indexed |");
    System.out.println("|---|---|---|---|");
    files(root.resolve("files"), keys, value);
    rocks(root.resolve("rocks"), keys, value);
  }

  // ---- one file per entry ---------------------------------------------------------------------

  private static Path fileOf(Path dir, byte[] key) throws Exception {
    String hash = HEX.formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(key));
    return dir.resolve(hash.substring(0, 2) + '/' + hash.substring(2, 4) + '/' + hash);
  }

  private static void files(Path dir, byte[][] keys, byte[] value) throws Exception {
    long t = System.nanoTime();
    for (byte[] key : keys) { // as FileStore writes: a temporary name, then a rename
      Path file = fileOf(dir, key);
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        c.write(new ByteBuffer[] {ByteBuffer.wrap(key), ByteBuffer.wrap(value)});
      }
      Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    double write = (System.nanoTime() - t) / 1e9;
    Path[] paths = new Path[keys.length];
    for (int i = 0; i < keys.length; i++) {
      paths[i] = fileOf(dir, keys[i]);
    }
    ByteBuffer into = ByteBuffer.allocateDirect(value.length + 1024); // one buffer: the engines, not allocation
    double read = medianPass(keys.length, i -> {
      try (FileChannel c = FileChannel.open(paths[i])) { // open, fstat, one pread, close
        into.clear().limit((int) c.size());
        c.read(into, 0);
        return into.position();
      }
    });
    t = System.nanoTime();
    long[] found = {0};
    try (Stream<Path> all = Files.walk(dir, 3)) { // the start-up scan reads each file's head
      all.filter(Files::isRegularFile).forEach(p -> {
        try (FileChannel c = FileChannel.open(p)) {
          c.read(ByteBuffer.allocate(256), 0);
          found[0]++;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
    }
    double scan = (System.nanoTime() - t) / 1e9;
    System.out.printf("| files + in-memory index | %.0f MB/s | %.1f | %.2f s (%d files scanned; reads work before) |%n",
        keys.length * (double) value.length / write / 1e6, read, scan, found[0]);
    delete(dir);
  }

  // ---- RocksDB with blob files ----------------------------------------------------------------

  private static Options options() {
    // A block cache for the keys' index and data blocks (the blob values are read from their files).
    org.rocksdb.BlockBasedTableConfig table = new org.rocksdb.BlockBasedTableConfig()
        .setBlockCache(new org.rocksdb.LRUCache(64L << 20));
    return new Options().setCreateIfMissing(true).setEnableBlobFiles(true).setMinBlobSize(4096)
        .setTableFormatConfig(table)
        .setBlobCompressionType(CompressionType.NO_COMPRESSION).setCompressionType(CompressionType.NO_COMPRESSION);
  }

  private static void rocks(Path dir, byte[][] keys, byte[] value) throws Exception {
    Files.createDirectories(dir);
    double write;
    try (Options options = options(); RocksDB db = RocksDB.open(options, dir.toString());
        WriteOptions w = new WriteOptions()) {
      long t = System.nanoTime();
      for (byte[] key : keys) {
        db.put(w, key, value);
      }
      try (org.rocksdb.FlushOptions flush = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
        db.flush(flush);
      }
      write = (System.nanoTime() - t) / 1e9;
    }
    long t = System.nanoTime();
    try (Options options = options(); RocksDB db = RocksDB.open(options, dir.toString());
        // Checksums off, as FileStore checks a file's CRC only on its first read.
        ReadOptions r = new ReadOptions().setVerifyChecksums(false)) {
      double open = (System.nanoTime() - t) / 1e9;
      ByteBuffer[] directKeys = new ByteBuffer[keys.length];
      for (int i = 0; i < keys.length; i++) {
        directKeys[i] = ByteBuffer.allocateDirect(keys[i].length).put(keys[i]).flip();
      }
      ByteBuffer into = ByteBuffer.allocateDirect(value.length + 1024);
      double read = medianPass(keys.length, i -> {
        into.clear();
        int n = db.get(r, directKeys[i].duplicate(), into);
        if (n != value.length) {
          throw new IllegalStateException("read " + n + " bytes");
        }
        return n;
      });
      System.out.printf("| RocksDB %s, blob files (min-blob-size 4 KiB, no compression) | %.0f MB/s | %.1f | %.2f s (open; the index is the LSM tree) |%n",
          RocksDB.rocksdbVersion(), keys.length * (double) value.length / write / 1e6, read, open);
    }
    delete(dir);
  }

  // ---- helpers -------------------------------------------------------------------------------

  interface Read {
    int apply(int i) throws Exception;
  }

  /** µs per read over all entries in random order, the median of 5 passes after one warm-up pass. */
  private static double medianPass(int n, Read read) throws Exception {
    int[] order = new Random(1).ints(0, n).limit(n).toArray();
    double[] passes = new double[6];
    long sink = 0;
    for (int p = 0; p < passes.length; p++) {
      long t = System.nanoTime();
      for (int i : order) {
        sink += read.apply(i);
      }
      passes[p] = (System.nanoTime() - t) / 1e3 / n;
    }
    if (sink == 42) {
      System.out.print("");
    }
    double[] measured = java.util.Arrays.copyOfRange(passes, 1, passes.length);
    java.util.Arrays.sort(measured);
    return measured[measured.length / 2];
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private DiskEngines() {}
}
