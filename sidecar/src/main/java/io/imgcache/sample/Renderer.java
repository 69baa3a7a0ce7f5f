package io.imgcache.sample;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.hash.Hashing;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Renders sample-origin bodies. Pure functions of the request: the picture is computed pixel by
 * pixel with integer arithmetic from a hash of the id (no Java2D, no fonts), so the same request
 * gives the same bytes on every call. Stateless and thread-safe; CPU-bound and may take a second
 * for the largest images, so never call it on an IO thread.
 */
final class Renderer {
  /**
   * Low bits of grain added to each channel of each pixel. It is what makes the encoded size grow
   * with the area (a smooth gradient would compress to almost nothing), and it is seeded, so it is
   * as deterministic as the rest.
   */
  private static final int GRAIN_BITS = 2;

  private static final int INK = 0xffffff;
  private static final int LABEL_BACKGROUND = 0x202020;

  private Renderer() {}

  static Body render(SampleRequest request) {
    if (request instanceof SampleRequest.Image image) {
      return Body.of(encode(draw(image), image.format()), image.format().contentType());
    }
    SampleRequest.Blob blob = (SampleRequest.Blob) request;
    return Body.of(blob(blob.id(), blob.size()), "application/octet-stream");
  }

  /**
   * A diagonal gradient between two colours, a disc and a bar placed by the id's hash, seeded
   * grain, and a label with the id and the size in the top-left corner.
   */
  static BufferedImage draw(SampleRequest.Image request) {
    int width = request.width();
    int height = request.height();
    long seed = hash(request.id());
    int from = (int) splitMix(seed, 0);
    int to = (int) splitMix(seed, 1);
    int discColour = (int) splitMix(seed, 2);
    int barColour = (int) splitMix(seed, 3);
    long place = splitMix(seed, 4);
    // Shapes are placed in fractions of the image, so every size shows the same picture.
    long cx = (place & 0xff) * width / 256;
    long cy = ((place >>> 8) & 0xff) * height / 256;
    long r = (32 + ((place >>> 16) & 0x3f)) * Math.min(width, height) / 256;
    int barTop = (int) (((place >>> 24) & 0x7f) * height / 256);
    int barBottom = barTop + Math.max(1, height / 8);
    long grainSeed = splitMix(seed ^ ((long) width << 32 | height), 5);

    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int[] pixels = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
    int mask = (1 << GRAIN_BITS) - 1;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int rgb;
        long dx = x - cx;
        long dy = y - cy;
        if (dx * dx + dy * dy < r * r) {
          rgb = discColour;
        } else if (y >= barTop && y < barBottom && x >= width / 8 && x < width - width / 8) {
          rgb = barColour;
        } else {
          int t = (int) (((long) x * 255 / width + (long) y * 255 / height) / 2);
          rgb = blend(from, to, t);
        }
        int noise = (int) splitMix(grainSeed, (long) y * width + x);
        int red = clamp(((rgb >> 16) & 0xff) + (noise & mask) - mask / 2);
        int green = clamp(((rgb >> 8) & 0xff) + ((noise >> 8) & mask) - mask / 2);
        int blue = clamp((rgb & 0xff) + ((noise >> 16) & mask) - mask / 2);
        pixels[y * width + x] = red << 16 | green << 8 | blue;
      }
    }
    label(pixels, width, height, request.id(), width + "x" + height);
    return image;
  }

  private static void label(int[] pixels, int width, int height, String id, String size) {
    String first = id.length() > size.length() ? id.substring(0, size.length()) : id;
    int columns = Math.max(first.length(), size.length());
    int boxColumns = columns * PixelFont.ADVANCE + 1;
    int boxRows = 2 * PixelFont.LINE_HEIGHT + 1;
    // At most a third of the width and a quarter of the height, unless that is under one pixel.
    int scale = Math.max(1, Math.min(width / 3 / boxColumns, height / 4 / boxRows));
    int boxWidth = boxColumns * scale;
    int boxHeight = boxRows * scale;
    PixelFont.fill(pixels, width, height, 0, 0, boxWidth, boxHeight, LABEL_BACKGROUND);
    PixelFont.draw(pixels, width, height, first, scale, scale, scale, INK);
    int secondLine = (PixelFont.LINE_HEIGHT + 1) * scale;
    PixelFont.draw(pixels, width, height, size, scale, secondLine, scale, INK);
  }

  /**
   * Encodes with the JDK's default writer settings (PNG: adaptive filters, default deflate level;
   * JPEG: quality 0.75; GIF: the writer's own palette), in memory.
   *
   * @throws IllegalArgumentException if this JVM has no writer for {@code format}
   */
  static byte[] encode(BufferedImage image, Format format) {
    Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format.imageIoName());
    if (!writers.hasNext()) {
      throw new IllegalArgumentException("no ImageIO writer for " + format);
    }
    ImageWriter writer = writers.next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    // A memory cache explicitly: ImageIO.write would consult the JVM-wide ImageIO.getUseCache()
    // and might spool through a temporary file.
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(image);
    } catch (IOException e) {
      throw new UncheckedIOException("encoding " + format, e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** Exactly {@code size} pseudo-random bytes; a different id or size gives different bytes. */
  static byte[] blob(String id, int size) {
    byte[] bytes = new byte[size];
    long seed = splitMix(hash(id), size);
    for (int i = 0; i < size; i += 8) {
      long word = splitMix(seed, i / 8);
      for (int j = 0; j < 8 && i + j < size; j++) {
        bytes[i + j] = (byte) (word >>> (8 * j));
      }
    }
    return bytes;
  }

  private static long hash(String id) {
    return Hashing.murmur3_128().hashString(id, UTF_8).asLong();
  }

  /**
   * The {@code index}-th output of SplitMix64 (Steele, Lea, Flood 2014) seeded with {@code seed}:
   * spelled out rather than borrowed from {@code SplittableRandom}, so no JDK release can change
   * the output, and indexed, so any pixel's grain is computed without the ones before it.
   */
  private static long splitMix(long seed, long index) {
    long z = seed + (index + 1) * 0x9e3779b97f4a7c15L;
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  private static int blend(int from, int to, int t) {
    int red = (((from >> 16) & 0xff) * (255 - t) + ((to >> 16) & 0xff) * t) / 255;
    int green = (((from >> 8) & 0xff) * (255 - t) + ((to >> 8) & 0xff) * t) / 255;
    int blue = ((from & 0xff) * (255 - t) + (to & 0xff) * t) / 255;
    return red << 16 | green << 8 | blue;
  }

  private static int clamp(int channel) {
    return Math.max(0, Math.min(255, channel));
  }
}
