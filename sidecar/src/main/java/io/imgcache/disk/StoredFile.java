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
   * Bodies up to this size are read into direct memory; larger ones are mapped. Every mapping is a
   * kernel memory area until the collector frees its buffer (vm.max_map_count is 65,530 by
   * default), so the many small bodies must not be mapped.
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

  /**
   * The response in the file open on {@code channel}, its body off the Java heap: read into direct
   * memory, or mapped when larger than {@link #MAP_ABOVE} (pages faulted in here, not on the IO
   * thread that sends them). {@code verify}: check the CRC first.
   */
  static CachedResponse read(FileChannel channel, Header header, boolean verify) throws IOException {
    ByteBuffer body;
    if (header.bodyLength() > MAP_ABOVE) {
      MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, header.bodyOffset(), header.bodyLength());
      mapped.load();
      body = mapped;
    } else {
      body = ByteBuffer.allocateDirect((int) header.bodyLength());
      readFully(channel, body, header.bodyOffset());
    }
    if (verify) {
      ByteBuffer stored = ByteBuffer.allocate(4);
      readFully(channel, stored, header.fileLength() - 4);
      CRC32C crc = new CRC32C();
      crc.update(header.head());
      crc.update(body.duplicate());
      if ((int) crc.getValue() != stored.getInt(0)) {
        throw new DamagedException("checksum mismatch");
      }
    }
    return StoredForm.decode(header.metadata(), body);
  }

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
    ByteBuffer fixed = ByteBuffer.allocate(8);
    readFully(channel, fixed, 0);
    if (fixed.getInt(0) != MAGIC) {
      throw new DamagedException("not a stored response (magic " + Integer.toHexString(fixed.getInt(0)) + ")");
    }
    int metadataLength = fixed.getInt(4);
    if (metadataLength <= 0 || metadataLength > MAX_METADATA || 8L + metadataLength + 8 + 4 > size) {
      throw new DamagedException("metadata length " + metadataLength + " in a file of " + size + " bytes");
    }
    ByteBuffer rest = ByteBuffer.allocate(metadataLength + 8);
    readFully(channel, rest, 8);
    byte[] metadata = new byte[metadataLength];
    rest.get(0, metadata);
    long bodyLength = rest.getLong(metadataLength);
    long bodyOffset = 8L + metadataLength + 8;
    if (bodyLength < 0 || bodyOffset + bodyLength + 4 != size) {
      throw new DamagedException("body length " + bodyLength + " does not match a file of " + size + " bytes");
    }
    String key;
    try {
      key = StoredForm.key(metadata);
    } catch (IOException e) {
      throw new DamagedException("metadata unreadable: " + e.getMessage());
    }
    byte[] head = new byte[(int) bodyOffset];
    fixed.get(0, head, 0, 8);
    rest.get(0, head, 8, rest.capacity());
    return new Header(key, metadata, head, bodyOffset, bodyLength, size);
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
