package io.imgcache.disk;

import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.StoredForm;
import java.io.IOException;
import java.nio.ByteBuffer;
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

  private StoredFile() {}

  /** A file that is not one of ours, or not whole. */
  static final class DamagedException extends IOException {
    DamagedException(String message) {
      super(message);
    }
  }

  /** What the start of a file says, checked against its size. */
  record Header(String key, byte[] metadata, long bodyOffset, long bodyLength, long fileLength) {
    /** The response, its body a view of {@code mapped} (the whole file). */
    CachedResponse response(ByteBuffer mapped) throws IOException {
      ByteBuffer body = mapped.slice((int) bodyOffset, (int) bodyLength);
      return StoredForm.decode(metadata, body);
    }
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
    return new Header(key, metadata, bodyOffset, bodyLength, size);
  }

  /** Checks the CRC32C at the end of {@code whole} (the mapped file) against everything before it. */
  static void verify(ByteBuffer whole) throws DamagedException {
    int end = whole.capacity() - 4;
    CRC32C crc = new CRC32C();
    crc.update(whole.duplicate().position(0).limit(end));
    if ((int) crc.getValue() != whole.getInt(end)) {
      throw new DamagedException("checksum mismatch");
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
