package io.imgcache.cache;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A {@link CachedResponse}'s metadata as bytes — key, status, headers, Vary names, timing and the
 * policy's verdict — for a store that keeps the body beside it (the disk tier). Decoding gives back
 * an equal response whose body is the buffer the store supplies (a mapped file region: no copy).
 * The format carries its own version; a reader refuses any other.
 */
public final class StoredForm {
  private static final int VERSION = 1;

  private StoredForm() {}

  /** The metadata of {@code response} stored under {@code key}. */
  public static byte[] encode(String key, CachedResponse response) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeUTF(key);
      out.writeShort(response.status());
      out.writeShort(response.headerCount());
      for (int i = 0; i < response.headerCount(); i++) {
        out.writeUTF(response.headerName(i));
        writeLong(out, response.headerValue(i));
      }
      String[] vary = response.varyNames();
      out.writeShort(vary.length);
      for (String name : vary) {
        out.writeUTF(name);
      }
      CachedResponse.Timing t = response.timing();
      out.writeLong(t.requestTime());
      out.writeLong(t.responseTime());
      out.writeLong(t.initialAge());
      out.writeLong(t.lifetime());
      out.writeLong(t.staleWhileRevalidate());
      out.writeLong(t.staleIfError());
      out.writeBoolean(t.upstreamAge());
      CachedResponse.Verdict v = response.verdict();
      out.writeBoolean(v.storable());
      out.writeBoolean(v.shareable());
      out.writeBoolean(v.noStale());
      out.writeBoolean(v.authorizedReuse());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return bytes.toByteArray();
  }

  /** The key {@code metadata} was stored under (what {@link #encode} was given). */
  public static String key(byte[] metadata) throws IOException {
    Cursor in = new Cursor(metadata);
    checkVersion(in);
    return in.utf();
  }

  /**
   * The response {@code metadata} describes, with {@code body} (read-only, position 0) as its body.
   * Parsed straight from the array: a disk hit pays for it on every read.
   *
   * @throws IOException if the bytes are not this format's (another version, cut short)
   */
  public static CachedResponse decode(byte[] metadata, ByteBuffer body) throws IOException {
    Cursor in = new Cursor(metadata);
    checkVersion(in);
    in.skipUtf(); // the key
    int status = in.u16();
    int count = in.u16();
    String[] names = new String[count];
    String[] values = new String[count];
    for (int i = 0; i < count; i++) {
      names[i] = in.utf();
      values[i] = in.longUtf();
    }
    String[] vary = new String[in.u16()];
    for (int i = 0; i < vary.length; i++) {
      vary[i] = in.utf();
    }
    CachedResponse.Timing timing = new CachedResponse.Timing(in.s64(), in.s64(), in.s64(), in.s64(), in.s64(),
        in.s64(), in.bool());
    CachedResponse.Verdict verdict = new CachedResponse.Verdict(in.bool(), in.bool(), in.bool(), in.bool());
    return new CachedResponse(status, names, values, body.asReadOnlyBuffer(), vary, timing, verdict);
  }

  private static void checkVersion(Cursor in) throws IOException {
    int version = in.u8();
    if (version != VERSION) {
      throw new IOException("stored form version " + version + ", this reader knows " + VERSION);
    }
  }

  /** Header values may pass writeUTF's 64 KiB: a length, then the UTF-8 bytes. */
  private static void writeLong(DataOutputStream out, String value) throws IOException {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  /**
   * Reads what {@link DataOutputStream} and {@link #writeLong} wrote, from an array: big-endian
   * numbers, {@code writeUTF}'s modified UTF-8 (an all-ASCII string is its bytes), and long values.
   */
  private static final class Cursor {
    private final byte[] bytes;
    private int at;

    Cursor(byte[] bytes) {
      this.bytes = bytes;
    }

    private int take(int n) throws IOException {
      if (n < 0 || n > bytes.length - at) {
        throw new IOException("cut short");
      }
      int from = at;
      at += n;
      return from;
    }

    int u8() throws IOException {
      return bytes[take(1)] & 0xff;
    }

    int u16() throws IOException {
      int i = take(2);
      return (bytes[i] & 0xff) << 8 | bytes[i + 1] & 0xff;
    }

    long s64() throws IOException {
      int i = take(8);
      long v = 0;
      for (int j = i; j < i + 8; j++) {
        v = v << 8 | bytes[j] & 0xff;
      }
      return v;
    }

    boolean bool() throws IOException {
      return bytes[take(1)] != 0;
    }

    String utf() throws IOException {
      int length = u16();
      int from = take(length);
      for (int i = from; i < from + length; i++) {
        if (bytes[i] <= 0) { // NUL (two bytes in modified UTF-8) or beyond ASCII
          return new DataInputStream(new ByteArrayInputStream(bytes, from - 2, length + 2)).readUTF();
        }
      }
      return new String(bytes, from, length, StandardCharsets.ISO_8859_1);
    }

    void skipUtf() throws IOException {
      take(u16());
    }

    String longUtf() throws IOException {
      int i = take(4);
      int length = (bytes[i] & 0xff) << 24 | (bytes[i + 1] & 0xff) << 16 | (bytes[i + 2] & 0xff) << 8 | bytes[i + 3] & 0xff;
      if (length > (1 << 20)) {
        throw new IOException("header value of " + length + " bytes");
      }
      return new String(bytes, take(length), length, StandardCharsets.UTF_8);
    }
  }
}
