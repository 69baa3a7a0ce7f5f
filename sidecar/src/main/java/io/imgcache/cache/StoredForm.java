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
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(metadata));
    checkVersion(in);
    return in.readUTF();
  }

  /**
   * The response {@code metadata} describes, with {@code body} (read-only, position 0) as its body.
   *
   * @throws IOException if the bytes are not this format's (another version, cut short)
   */
  public static CachedResponse decode(byte[] metadata, ByteBuffer body) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(metadata));
    checkVersion(in);
    in.readUTF(); // the key
    int status = in.readShort();
    int count = in.readShort();
    String[] names = new String[count];
    String[] values = new String[count];
    for (int i = 0; i < count; i++) {
      names[i] = in.readUTF();
      values[i] = readLong(in);
    }
    String[] vary = new String[in.readShort()];
    for (int i = 0; i < vary.length; i++) {
      vary[i] = in.readUTF();
    }
    CachedResponse.Timing timing = new CachedResponse.Timing(in.readLong(), in.readLong(), in.readLong(),
        in.readLong(), in.readLong(), in.readLong(), in.readBoolean());
    CachedResponse.Verdict verdict = new CachedResponse.Verdict(in.readBoolean(), in.readBoolean(),
        in.readBoolean(), in.readBoolean());
    return new CachedResponse(status, names, values, body.asReadOnlyBuffer(), vary, timing, verdict);
  }

  private static void checkVersion(DataInputStream in) throws IOException {
    int version = in.readByte();
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

  private static String readLong(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > (1 << 20)) {
      throw new IOException("header value of " + length + " bytes");
    }
    byte[] utf8 = in.readNBytes(length);
    if (utf8.length != length) {
      throw new IOException("cut short");
    }
    return new String(utf8, StandardCharsets.UTF_8);
  }
}
