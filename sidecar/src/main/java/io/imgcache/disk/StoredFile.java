package io.imgcache.disk;

import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.StoredForm;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * One stored response's file: {@code "ICD1"}, the metadata's length and the metadata ({@link
 * StoredForm}: key, status, headers, timing), the body's length and the body, then a CRC32C of
 * everything before it. Big-endian. A file that is not exactly that — another magic, lengths that
 * do not add up to its size, a checksum that does not match — is damaged.
 */
final class StoredFile {
  private static final int MAGIC = 0x49434431; // "ICD1"
  private static final int MAX_METADATA = 1 << 20;
  /** Magic, metadata length; body length; checksum. */
  private static final int FIXED = 4 + 4 + 8 + 4;
  /**
   * Files whose metadata and body together are up to this size are read whole into direct memory
   * (the body a slice of it: a few hundred bytes of metadata ride along, within the per-entry
   * overhead CachedResponse weighs); larger ones have their body mapped per read. Every such
   * mapping is a kernel memory area until the collector frees its buffer (vm.max_map_count is
   * 65,530 by default), so the many small bodies are not mapped per read: the store keeps the most
   * read of them mapped instead, a bounded number, and unmaps them itself (FileStore, MappedBody).
   */
  static final int MAP_ABOVE = 256 * 1024;

  private StoredFile() {}

  /** A file that is not one of ours, or not whole. */
  static final class DamagedException extends IOException {
    DamagedException(String message) {
      super(message);
    }
  }

  /** What the start of a file says, checked against its size; {@code head}: every byte before the body. */
  record Header(String key, byte[] metadata, byte[] head, long bodyOffset, long bodyLength, long fileLength) {}

  /** A file read back: the key it holds, its response, and its length. */
  record Loaded(String key, CachedResponse response, long fileLength) {}

  /** Whether a file of {@code fileLength} bytes is read whole by {@link #read} (else its body is mapped). */
  static boolean readWhole(long fileLength) {
    return fileLength - FIXED <= MAP_ABOVE;
  }

  /**
   * The key and response in the file open on {@code channel}, the body off the Java heap. A file
   * whose metadata and body are at most {@link #MAP_ABOVE} is read whole with one read into direct memory (the
   * body is a slice of it); a larger one has its header read and its body mapped (pages faulted in
   * here, not on the IO thread that sends them). {@code verify}: check the CRC.
   */
  static Loaded read(FileChannel channel, boolean verify) throws IOException {
    long size = channel.size();
    if (size < FIXED) {
      throw new DamagedException("only " + size + " bytes");
    }
    if (!readWhole(size)) {
      Header header = readHeader(channel, size);
      MappedByteBuffer body = channel.map(FileChannel.MapMode.READ_ONLY, header.bodyOffset(), header.bodyLength());
      body.load();
      if (verify) {
        ByteBuffer stored = ByteBuffer.allocate(4);
        readFully(channel, stored, size - 4);
        CRC32C crc = new CRC32C();
        crc.update(header.head());
        crc.update(body.duplicate());
        checkCrc(crc, stored.getInt(0));
      }
      return new Loaded(header.key(), decode(header.metadata(), body), size);
    }
    ByteBuffer file = ByteBuffer.allocateDirect((int) size);
    readFully(channel, file, 0);
    int metadataLength = checkStart(file.getInt(0), file.getInt(4), size);
    long bodyOffset = 8L + metadataLength + 8;
    long bodyLength = checkBody(file.getLong(8 + metadataLength), bodyOffset, size);
    if (verify) {
      CRC32C crc = new CRC32C();
      crc.update(file.slice(0, (int) size - 4));
      checkCrc(crc, file.getInt((int) size - 4));
    }
    byte[] metadata = new byte[metadataLength];
    file.get(8, metadata);
    return new Loaded(key(metadata), decode(metadata, file.slice((int) bodyOffset, (int) bodyLength)), size);
  }

  /**
   * The status, headers and timing {@code header} describes, with an empty body: what a mapping of
   * the body completes ({@link CachedResponse#withBody}).
   */
  static CachedResponse head(Header header) throws DamagedException {
    return decode(header.metadata(), NO_BODY);
  }

  private static final ByteBuffer NO_BODY = ByteBuffer.allocate(0);

  /** Writes {@code response} under {@code key} to {@code file} (created or truncated); returns its length. */
  static long write(Path file, String key, CachedResponse response) throws IOException {
    byte[] metadata = StoredForm.encode(key, response);
    ByteBuffer body = response.body();
    ByteBuffer head = ByteBuffer.allocate(8 + metadata.length + 8);
    head.putInt(MAGIC).putInt(metadata.length).put(metadata).putLong(body.remaining()).flip();
    CRC32C crc = new CRC32C();
    crc.update(head.duplicate());
    crc.update(body.duplicate());
    ByteBuffer tail = ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer[] parts = {head, body, tail};
      long total = head.remaining() + body.remaining() + 4L;
      long written = 0;
      while (written < total) {
        written += channel.write(parts);
      }
      return total;
    }
  }

  /** Reads and checks the fixed part and the metadata of the file open on {@code channel}. */
  static Header readHeader(FileChannel channel) throws IOException {
    long size = channel.size();
    if (size < FIXED) {
      throw new DamagedException("only " + size + " bytes");
    }
    return readHeader(channel, size);
  }

  private static Header readHeader(FileChannel channel, long size) throws IOException {
    ByteBuffer fixed = ByteBuffer.allocate(8);
    readFully(channel, fixed, 0);
    int metadataLength = checkStart(fixed.getInt(0), fixed.getInt(4), size);
    ByteBuffer rest = ByteBuffer.allocate(metadataLength + 8);
    readFully(channel, rest, 8);
    byte[] metadata = new byte[metadataLength];
    rest.get(0, metadata);
    long bodyOffset = 8L + metadataLength + 8;
    long bodyLength = checkBody(rest.getLong(metadataLength), bodyOffset, size);
    byte[] head = new byte[(int) bodyOffset];
    fixed.get(0, head, 0, 8);
    rest.get(0, head, 8, rest.capacity());
    return new Header(key(metadata), metadata, head, bodyOffset, bodyLength, size);
  }

  /** The metadata's length, once the magic and that length are checked against a file of {@code size}. */
  private static int checkStart(int magic, int metadataLength, long size) throws DamagedException {
    if (magic != MAGIC) {
      throw new DamagedException("not a stored response (magic " + Integer.toHexString(magic) + ")");
    }
    if (metadataLength <= 0 || metadataLength > MAX_METADATA || 8L + metadataLength + 8 + 4 > size) {
      throw new DamagedException("metadata length " + metadataLength + " in a file of " + size + " bytes");
    }
    return metadataLength;
  }

  private static long checkBody(long bodyLength, long bodyOffset, long size) throws DamagedException {
    if (bodyLength < 0 || bodyOffset + bodyLength + 4 != size) {
      throw new DamagedException("body length " + bodyLength + " does not match a file of " + size + " bytes");
    }
    return bodyLength;
  }

  private static void checkCrc(CRC32C crc, int stored) throws DamagedException {
    if ((int) crc.getValue() != stored) {
      throw new DamagedException("checksum mismatch");
    }
  }

  private static CachedResponse decode(byte[] metadata, ByteBuffer body) throws DamagedException {
    try {
      return StoredForm.decode(metadata, body);
    } catch (IOException e) {
      throw new DamagedException("metadata unreadable: " + e.getMessage());
    }
  }

  private static String key(byte[] metadata) throws DamagedException {
    try {
      return StoredForm.key(metadata);
    } catch (IOException e) {
      throw new DamagedException("metadata unreadable: " + e.getMessage());
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
    long at = position;
    while (into.hasRemaining()) {
      int n = channel.read(into, at);
      if (n < 0) {
        throw new DamagedException("cut short");
      }
      at += n;
    }
    into.flip();
  }
}
